package policy

import (
	"strings"
	"testing"
	"time"
)

// Decoding never panics, and whatever it accepts satisfies the schema.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(strings.Replace(good, "attach: none", "attach: {}", 1)))
	f.Add([]byte("apiVersion: bpfload/v1\nkind: Manifest\nname: &a x\nversion: *a\n"))
	f.Add([]byte("{programs: [{attach: [1, 2]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.yaml", data)
		if err != nil {
			return
		}
		if !nameRE.MatchString(m.Name) || m.Version < 1 || len(m.Programs) == 0 || !digestRE.MatchString(m.Object.SHA256) {
			t.Fatalf("accepted an invalid manifest: %+v", m)
		}
		for _, p := range m.Programs {
			if p.Attach.Kind() == "" {
				t.Fatalf("accepted program %s with an invalid attach", p.Name)
			}
		}
	})
}

const fuzzPolicy = `apiVersion: bpfload/v1
kind: TrustPolicy
signers:
  - name: platform
    ssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMz2J8w2sNd9N6hL1y1Xy5s2hSZPfEhOqqMmsZ0dO7kA platform@example"
revoked: ["SHA256:oq7iwp8FxlffyOuMAuuJubnYw/ADR0OfkBrny7DrBrM"]
rules:
  - manifests: ["opensnoop", "net-*"]
    signers: [platform]
    threshold: 1
    capabilities: [CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN]
    programTypes: [tracepoint, xdp]
    attach: {interfaces: ["eth*"], cgroups: ["/sys/fs/cgroup/app/*"]}
    pinRoot: /sys/fs/bpf/bpfload
    minVersion: 1
    maxLifetime: 720h
`

func FuzzTrustPolicy(f *testing.F) {
	f.Add([]byte(fuzzPolicy))
	f.Add([]byte(strings.Replace(fuzzPolicy, "threshold: 1", "threshold: 9", 1)))
	f.Add([]byte("apiVersion: bpfload/v1\nkind: TrustPolicy\nrules: [{manifests: ['['], signers: [], capabilities: []}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseTrustPolicy("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, r := range p.Rules {
			if r.Threshold < 1 || r.Threshold > len(r.Signers) {
				t.Fatalf("accepted threshold %d for %d signers", r.Threshold, len(r.Signers))
			}
			for _, s := range r.Signers {
				if p.signer(s) == nil {
					t.Fatalf("accepted a rule naming unknown signer %q", s)
				}
			}
		}
	})
}

// Any bytes in a signature file are refused or verified, never a panic.
func FuzzSSHSignature(f *testing.F) {
	p, err := ParseTrustPolicy("fuzz.yaml", []byte(fuzzPolicy))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(sshArmorHeader + "\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n"))
	f.Add([]byte(sshArmorHeader + "\n-----END SSH SIGNATURE-----\n"))
	f.Add([]byte("garbage"))
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		name, _, err := p.sshSigner(data, []byte(good), now)
		if err == nil {
			t.Fatalf("fuzzed bytes verified as signer %q", name)
		}
	})
}

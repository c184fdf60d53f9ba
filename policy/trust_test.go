package policy

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testKey is an ed25519 SSH key written as an OpenSSH private key file.
type testKey struct {
	path   string
	signer ssh.Signer
	line   string // authorized_keys line
}

func newTestKey(t *testing.T, dir, name string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pemEncode(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{path: path, signer: signer, line: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}
}

func (k testKey) fp() string { return ssh.FingerprintSHA256(k.signer.PublicKey()) }

// certify writes KEY-cert.pub: a user certificate for k signed by ca.
func certify(t *testing.T, k, ca testKey, principals []string, after, before time.Time) {
	t.Helper()
	cert := &ssh.Certificate{Key: k.signer.PublicKey(), CertType: ssh.UserCert, KeyId: "test-cert",
		ValidPrincipals: principals, ValidAfter: uint64(after.Unix()), ValidBefore: uint64(before.Unix())}
	if err := cert.SignCert(rand.Reader, ca.signer); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.path+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	t        *testing.T
	dir      string
	manifest string
	keys     map[string]testKey
}

func newFixture(t *testing.T, manifestExtra string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, keys: map[string]testKey{}}
	for _, n := range []string{"platform", "release", "stranger", "ca", "dev"} {
		f.keys[n] = newTestKey(t, dir, n)
	}
	src := strings.Replace(good, "version: 3\n", "version: 3\n"+manifestExtra, 1)
	f.manifest = filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(f.manifest, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) sign(key, out string) {
	f.t.Helper()
	m, err := ReadManifest(f.manifest)
	if err != nil {
		f.t.Fatal(err)
	}
	sig, err := SignSSH(f.keys[key].path, m.Raw)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, out), sig, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) policy(rule string, extra string) *TrustPolicy {
	f.t.Helper()
	src := fmt.Sprintf(`apiVersion: bpfload/v1
kind: TrustPolicy
signers:
  - name: platform
    ssh: "%s"
  - name: release
    ssh: "%s"
  - name: fleet-ca
    sshCA: "%s"
    principals: [bpf-release]
%s
rules:
%s
`, f.keys["platform"].line, f.keys["release"].line, f.keys["ca"].line, extra, rule)
	p, err := ParseTrustPolicy("policy.yaml", []byte(src))
	if err != nil {
		f.t.Fatalf("policy: %v\n%s", err, src)
	}
	return p
}

const baseRule = `  - manifests: ["opensnoop", "net-*"]
    signers: [platform, release, fleet-ca]
    capabilities: [CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN]
`

func (f *fixture) verify(p *TrustPolicy, opts VerifyOptions) (*Verified, error) {
	f.t.Helper()
	m, err := ReadManifest(f.manifest)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.Verify(m, opts)
}

func TestVerifySSH(t *testing.T) {
	f := newFixture(t, "")
	f.sign("platform", "m.yaml.sig")
	v, err := f.verify(f.policy(baseRule, ""), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Signatures) != 1 || v.Signatures[0].Signer != "platform" || !v.Signatures[0].Counted || v.Signatures[0].Fingerprint != f.keys["platform"].fp() {
		t.Errorf("verified %+v", v.Signatures)
	}
}

func TestVerifyRefusals(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name     string
		extra    string // manifest fields
		rule     string
		polExtra string
		sign     func(f *fixture)
		opts     VerifyOptions
		want     error
		text     string
	}{
		{name: "unsigned", sign: func(*fixture) {}, want: ErrUnsigned, text: "no signature found"},
		{name: "untrusted key", sign: func(f *fixture) { f.sign("stranger", "m.yaml.sig") }, want: ErrUntrusted, text: "no signer of the trust policy lists"},
		{name: "revoked key", polExtra: "revoked: [\"REVOKED\"]", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrUntrusted, text: "revoked"},
		{name: "no rule", rule: "  - manifests: [\"other\"]\n    signers: [platform]\n    capabilities: [CAP_BPF]\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrNoRule, text: `"opensnoop"`},
		{name: "signer not in rule", rule: "  - manifests: [\"*\"]\n    signers: [release]\n    capabilities: [CAP_BPF, CAP_PERFMON]\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrThreshold, text: "rule 0"},
		{name: "threshold", rule: "  - manifests: [\"*\"]\n    signers: [platform, release]\n    threshold: 2\n    capabilities: [CAP_BPF, CAP_PERFMON]\n",
			sign: func(f *fixture) { f.sign("platform", "m.yaml.sig"); f.sign("platform", "m.yaml.2.sig") }, want: ErrThreshold, text: "2 distinct keys"},
		{name: "over the ceiling", rule: "  - manifests: [\"*\"]\n    signers: [platform]\n    capabilities: [CAP_BPF]\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrOutsideRule, text: "m.yaml:8: capabilities: opensnoop asks for CAP_PERFMON, over the rule's ceiling [CAP_BPF]"},
		{name: "interface outside allowlist", rule: baseRule + "    attach: {interfaces: [\"veth*\"]}\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrOutsideRule, text: "interface eth0"},
		{name: "expired", extra: "expiresAt: 2020-01-01T00:00:00Z\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrStale, text: "expired"},
		{name: "issued in the future", extra: "issuedAt: " + now.Add(time.Hour).UTC().Format(time.RFC3339) + "\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrStale, text: "future"},
		{name: "older than maxLifetime", extra: "issuedAt: " + now.Add(-48*time.Hour).UTC().Format(time.RFC3339) + "\n", rule: baseRule + "    maxLifetime: 24h\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrStale, text: "maxLifetime"},
		{name: "maxLifetime needs issuedAt", rule: baseRule + "    maxLifetime: 24h\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrStale, text: "needs issuedAt"},
		{name: "below minVersion", rule: baseRule + "    minVersion: 4\n", sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrStale, text: "minVersion 4"},
		{name: "rollback", opts: VerifyOptions{HighWater: 5}, sign: func(f *fixture) { f.sign("platform", "m.yaml.sig") }, want: ErrStale, text: "rollback"},
		{name: "certificate expired", sign: func(f *fixture) {
			certify(f.t, f.keys["dev"], f.keys["ca"], []string{"bpf-release"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
			f.sign("dev", "m.yaml.sig")
		}, want: ErrUntrusted, text: "not acceptable"},
		{name: "certificate wrong principal", sign: func(f *fixture) {
			certify(f.t, f.keys["dev"], f.keys["ca"], []string{"someone-else"}, now.Add(-time.Hour), now.Add(time.Hour))
			f.sign("dev", "m.yaml.sig")
		}, want: ErrUntrusted, text: "someone-else"},
		{name: "certificate without principals", sign: func(f *fixture) {
			certify(f.t, f.keys["dev"], f.keys["ca"], nil, now.Add(-time.Hour), now.Add(time.Hour))
			f.sign("dev", "m.yaml.sig")
		}, want: ErrUntrusted, text: "lists no principals"},
		{name: "one key twice, bare and certified", rule: "  - manifests: [\"*\"]\n    signers: [release, fleet-ca]\n    threshold: 2\n    capabilities: [CAP_BPF, CAP_PERFMON]\n",
			sign: func(f *fixture) {
				f.sign("release", "m.yaml.sig")
				certify(f.t, f.keys["release"], f.keys["ca"], []string{"bpf-release"}, now.Add(-time.Hour), now.Add(time.Hour))
				f.sign("release", "m.yaml.2.sig")
			}, want: ErrThreshold, text: "1 distinct keys"},
		{name: "certificate from another CA", sign: func(f *fixture) {
			certify(f.t, f.keys["dev"], f.keys["stranger"], []string{"bpf-release"}, now.Add(-time.Hour), now.Add(time.Hour))
			f.sign("dev", "m.yaml.sig")
		}, want: ErrUntrusted, text: "no sshCA signer lists"},
		{name: "tampered manifest", sign: func(f *fixture) {
			f.sign("platform", "m.yaml.sig")
			data, _ := os.ReadFile(f.manifest)
			os.WriteFile(f.manifest, []byte(strings.Replace(string(data), "version: 3", "version: 4", 1)), 0o644)
		}, want: ErrSignature, text: "does not match"},
		{name: "truncated signature", sign: func(f *fixture) {
			f.sign("platform", "m.yaml.sig")
			data, _ := os.ReadFile(filepath.Join(f.dir, "m.yaml.sig"))
			os.WriteFile(filepath.Join(f.dir, "m.yaml.sig"), data[:len(data)/2], 0o644)
		}, want: ErrSignature, text: "malformed"},
		{name: "oversized signature", sign: func(f *fixture) {
			os.WriteFile(filepath.Join(f.dir, "m.yaml.sig"), make([]byte, MaxSignatureSize+1), 0o644)
		}, want: ErrSignature, text: "over 65536 bytes"},
		{name: "garbage signature", sign: func(f *fixture) {
			os.WriteFile(filepath.Join(f.dir, "m.yaml.sig"), []byte("hello"), 0o644)
		}, want: ErrSignature, text: "neither"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.extra)
			rule := c.rule
			if rule == "" {
				rule = baseRule
			}
			polExtra := strings.ReplaceAll(c.polExtra, "REVOKED", f.keys["platform"].fp())
			p := f.policy(rule, polExtra)
			c.sign(f)
			_, err := f.verify(p, c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q lacks %q", err, c.text)
			}
		})
	}
}

func TestVerifyCertificateAndThreshold(t *testing.T) {
	now := time.Now()
	f := newFixture(t, "issuedAt: "+now.Add(-time.Hour).UTC().Format(time.RFC3339)+"\nexpiresAt: "+now.Add(time.Hour).UTC().Format(time.RFC3339)+"\n")
	certify(t, f.keys["dev"], f.keys["ca"], []string{"bpf-release"}, now.Add(-time.Hour), now.Add(time.Hour))
	f.sign("dev", "m.yaml.sig")
	f.sign("release", "m.yaml.2.sig")
	p := f.policy("  - manifests: [\"opensnoop\"]\n    signers: [fleet-ca, release]\n    threshold: 2\n    capabilities: [CAP_BPF, CAP_PERFMON]\n    maxLifetime: 24h\n", "")
	v, err := f.verify(p, VerifyOptions{HighWater: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Signatures) != 2 || v.Signatures[0].Signer != "fleet-ca" || v.Signatures[1].Signer != "release" {
		t.Errorf("signatures %+v", v.Signatures)
	}
	// Explicit signature files and a signature directory.
	if _, err := f.verify(p, VerifyOptions{Signatures: []string{filepath.Join(f.dir, "m.yaml.sig")}}); !errors.Is(err, ErrThreshold) {
		t.Errorf("one explicit signature for threshold 2: %v", err)
	}
	sigdir := t.TempDir()
	for _, n := range []string{"m.yaml.sig", "m.yaml.2.sig"} {
		data, _ := os.ReadFile(filepath.Join(f.dir, n))
		os.WriteFile(filepath.Join(sigdir, n), data, 0o644)
		os.Remove(filepath.Join(f.dir, n))
	}
	if _, err := f.verify(p, VerifyOptions{SignatureDir: sigdir}); err != nil {
		t.Errorf("signature dir: %v", err)
	}
}

func TestCheckPlan(t *testing.T) {
	f := newFixture(t, "")
	f.sign("platform", "m.yaml.sig")
	p := f.policy(baseRule+"    programTypes: [tracepoint, socket_filter]\n    pinRoot: /sys/fs/bpf/net\n", "")
	v, err := f.verify(p, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := ReadManifest(f.manifest)
	types := map[string]string{"count_openat": "tracepoint", "sock_filter": "socket_filter", "xdp_count": "xdp"}
	if err := p.CheckPlan(m, v, types, "/sys/fs/bpf/net/opensnoop", "/sys/fs/bpf/bpfload"); !errors.Is(err, ErrOutsideRule) || !strings.Contains(err.Error(), "xdp program") {
		t.Errorf("program type outside the rule: %v", err)
	}
	types["xdp_count"] = "tracepoint"
	if err := p.CheckPlan(m, v, types, "/sys/fs/bpf/bpfload/opensnoop", "/sys/fs/bpf/bpfload"); !errors.Is(err, ErrOutsideRule) || !strings.Contains(err.Error(), "pin root /sys/fs/bpf/net") {
		t.Errorf("pin outside the rule's pinRoot: %v", err)
	}
	if err := p.CheckPlan(m, v, types, "/sys/fs/bpf/net/opensnoop", "/sys/fs/bpf/bpfload"); err != nil {
		t.Errorf("within the rule: %v", err)
	}
}

func TestPolicyErrors(t *testing.T) {
	f := newFixture(t, "")
	ok := func(s string) string {
		return "apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n  - name: a\n    ssh: \"" + f.keys["platform"].line + "\"\n" + s
	}
	cases := map[string]struct{ src, want string }{
		"no rules":              {ok(""), "rules: missing"},
		"unknown key":           {ok("rules: []\nextra: 1\n"), `unknown field "extra"`},
		"unknown signer":        {ok("rules:\n  - manifests: [x]\n    signers: [b]\n    capabilities: []\n"), `no signer is named "b"`},
		"threshold too big":     {ok("rules:\n  - manifests: [x]\n    signers: [a]\n    threshold: 2\n    capabilities: []\n"), "between 1 and"},
		"bad capability":        {ok("rules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: [CAP_NOPE]\n"), "CAP_NOPE"},
		"bad program type":      {ok("rules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n    programTypes: [xpd]\n"), `unknown program type "xpd"`},
		"bad glob":              {ok("rules:\n  - manifests: [\"[\"]\n    signers: [a]\n    capabilities: []\n"), "bad glob"},
		"bad lifetime":          {ok("rules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n    maxLifetime: 30d\n"), "positive duration"},
		"bad key":               {"apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n  - name: a\n    ssh: \"ssh-ed25519 nope\"\nrules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n", "not an OpenSSH public key"},
		"two key kinds":         {"apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n  - name: a\n    ssh: \"" + f.keys["platform"].line + "\"\n    sshCA: \"" + f.keys["ca"].line + "\"\nrules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n", "exactly one of"},
		"ca without principals": {"apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n  - name: a\n    sshCA: \"" + f.keys["ca"].line + "\"\nrules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n", "principals"},
		"bad revoked":           {ok("revoked: [\"md5:xx\"]\nrules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n"), "not a key fingerprint"},
		"wrong kind":            {strings.Replace(ok("rules: []\n"), "TrustPolicy", "Manifest", 1), "kind"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTrustPolicy("policy.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "policy.yaml") {
				t.Errorf("error %v, want one naming policy.yaml and %q", err, c.want)
			}
		})
	}
}

func TestPolicyFileSafety(t *testing.T) {
	f := newFixture(t, "")
	path := filepath.Join(f.dir, "policy.yaml")
	src := "apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n  - name: a\n    ssh: \"" + f.keys["platform"].line + "\"\nrules:\n  - manifests: [x]\n    signers: [a]\n    capabilities: []\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTrustPolicy(path, false); err != nil {
		t.Fatal(err)
	}
	// Privileged: the temporary directory (world-writable /tmp above it)
	// is not root's alone.
	if _, err := ReadTrustPolicy(path, true); !errors.Is(err, ErrUnsafeFile) || !strings.Contains(err.Error(), "root alone") {
		t.Errorf("root-only policy in a temporary directory: %v", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTrustPolicy(path, false); !errors.Is(err, ErrUnsafeFile) {
		t.Errorf("world-writable policy: %v", err)
	}
}

func TestSignSSHEncryptedKey(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "k", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k")
	os.WriteFile(path, pemEncode(block), 0o600)
	t.Setenv("BPFLOAD_KEY_PASSPHRASE", "")
	os.Unsetenv("BPFLOAD_KEY_PASSPHRASE")
	if _, err := SignSSH(path, []byte("m")); err == nil || !strings.Contains(err.Error(), "BPFLOAD_KEY_PASSPHRASE") {
		t.Errorf("encrypted key without passphrase: %v", err)
	}
	t.Setenv("BPFLOAD_KEY_PASSPHRASE", "secret")
	if _, err := SignSSH(path, []byte("m")); err != nil {
		t.Errorf("with passphrase: %v", err)
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

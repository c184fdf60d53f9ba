package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Every test here signs for real and runs verify and load without
// --allow-unsigned; each refusal must have exit status 3, its code, and
// leave nothing loaded or pinned.

// signedSwitch writes manifest m.yaml loading on_switch under name with
// body, signs it with a fresh ed25519 key through ssh-keygen, and writes a
// policy trusting that key.
func signedSwitch(e *env, name, body string) (policy, manifest string, k sshKey) {
	e.t.Helper()
	k = newSSHKey(e.t, e.t.TempDir(), "dev", "ed25519")
	manifest = e.manifest("m.yaml", name, "tracing.bpf.o", body)
	sshSign(e.t, k.priv, "bpfload", manifest)
	return e.writePolicy(simplePolicy(k)), manifest, k
}

// A byte of the manifest flipped after signing breaks the signature,
// whether it changes meaning (version 1 → 3) or only a comment.
func TestTamperManifestByte(t *testing.T) {
	for _, c := range []struct{ name, find string }{
		{"version", "version: 1"},
		{"comment", "# reviewed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p, m, _ := signedSwitch(e, "tamper-manifest", switchBody+"# reviewed by dev\n")
			e.mustVerify(p, m)
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			off := bytes.Index(b, []byte(c.find))
			if off < 0 {
				t.Fatalf("%q not in manifest", c.find)
			}
			// '1'^2 is '3'; 'r'^0x20 is 'R': the manifest stays valid.
			flipByte(t, m, off+len(c.find)-1, map[string]byte{"version": 0x02, "comment": 0x20}[c.name])
			e.mustRefuse(p, m, "BPFLOAD-E020", "does not match")
		})
	}
}

// A byte of the object flipped after signing: the signed digest no longer
// matches.
func TestTamperObjectByte(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-object", switchBody)
	e.mustVerify(p, m)
	obj := filepath.Join(e.dir, "tracing.bpf.o")
	fi, err := os.Stat(obj)
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, obj, int(fi.Size()/2), 0xff)
	e.mustRefuse(p, m, "BPFLOAD-E014", "sha256")
}

// A valid signature by a key the policy does not list.
func TestTamperUntrustedKey(t *testing.T) {
	e := newEnv(t)
	keys := t.TempDir()
	trusted := newSSHKey(t, keys, "trusted", "ed25519")
	other := newSSHKey(t, keys, "other", "ed25519")
	p := e.writePolicy(simplePolicy(trusted))
	m := e.manifest("m.yaml", "tamper-untrusted", "tracing.bpf.o", switchBody)
	sshSign(t, other.priv, "bpfload", m)
	e.mustRefuse(p, m, "BPFLOAD-E021", other.fingerprint())
}

// The CA key of an sshCA signer signing directly, without a certificate,
// is not a trusted key: the signer trusts only certificates it issued.
func TestTamperCAKeySignsDirectly(t *testing.T) {
	e := newEnv(t)
	ca := newSSHKey(t, t.TempDir(), "ca", "ed25519")
	p := e.writePolicy(policySpec{
		signers: []string{caSigner("team", ca, "alice")},
		rules:   []ruleSpec{{manifests: []string{"*"}, signers: []string{"team"}, caps: []string{"CAP_BPF", "CAP_PERFMON"}}},
	})
	m := e.manifest("m.yaml", "tamper-ca-direct", "tracing.bpf.o", switchBody)
	sshSign(t, ca.priv, "bpfload", m)
	e.mustRefuse(p, m, "BPFLOAD-E021", ca.fingerprint())
}

// A listed key whose fingerprint, as ssh-keygen -lf prints it, is under
// revoked: is refused although a signer lists it.
func TestTamperRevokedKey(t *testing.T) {
	e := newEnv(t)
	p, m, k := signedSwitch(e, "tamper-revoked", switchBody)
	e.mustVerify(p, m)
	pol := simplePolicy(k)
	pol.revoked = []string{k.fingerprint()}
	e.mustRefuse(e.writePolicy(pol), m, "BPFLOAD-E021", "revoked", k.fingerprint())
}

// A signature by a trusted key made for another purpose (ssh-keygen -n
// file, -n git) is never accepted for a manifest.
func TestTamperNamespace(t *testing.T) {
	for _, ns := range []string{"file", "git"} {
		t.Run(ns, func(t *testing.T) {
			e := newEnv(t)
			k := newSSHKey(t, t.TempDir(), "dev", "ed25519")
			p := e.writePolicy(simplePolicy(k))
			m := e.manifest("m.yaml", "tamper-namespace", "tracing.bpf.o", switchBody)
			sshSign(t, k.priv, ns, m)
			e.mustRefuse(p, m, "BPFLOAD-E020", fmt.Sprintf("namespace is %q", ns))
		})
	}
}

// A signed manifest whose expiresAt lies in the past.
func TestTamperExpiredManifest(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-expired", "issuedAt: 2020-01-01T00:00:00Z\nexpiresAt: 2020-01-02T00:00:00Z\n"+strings.TrimLeft(switchBody, "\n"))
	e.mustRefuse(p, m, "BPFLOAD-E025", "expired")
}

// Version 2 was loaded and unloaded; a signed version 1 is a rollback:
// the high-water mark survives unload.
func TestTamperRollback(t *testing.T) {
	e := newEnv(t)
	k := newSSHKey(t, t.TempDir(), "dev", "ed25519")
	p := e.writePolicy(simplePolicy(k))
	v2 := e.manifest("v2.yaml", "tamper-rollback", "tracing.bpf.o", switchBody)
	setVersion(t, v2, 2)
	sshSign(t, k.priv, "bpfload", v2)
	v1 := e.manifest("v1.yaml", "tamper-rollback", "tracing.bpf.o", switchBody)
	sshSign(t, k.priv, "bpfload", v1)

	e.loadSigned(p, v2)
	e.unload("tamper-rollback")
	// Against an empty state directory, version 1 is fine: only the
	// recorded high-water mark refuses it.
	fresh := e.runRaw(commandFor("verify", "--policy", p, "--pin-root", e.pinRoot, "--state-dir", filepath.Join(t.TempDir(), "state"), v1))
	if fresh.code != 0 {
		t.Fatalf("verify v1 with a fresh state dir: exit %d\n%s%s", fresh.code, fresh.stdout, fresh.stderr)
	}
	e.mustRefuse(p, v1, "BPFLOAD-E025", "rollback", "version 2")
}

// A manifest asking for a capability over its rule's ceiling.
func TestTamperCapabilityCeiling(t *testing.T) {
	e := newEnv(t)
	p, m, k := signedSwitch(e, "tamper-caps", switchBody)
	e.mustVerify(p, m)
	pol := simplePolicy(k)
	pol.rules[0].caps = []string{"CAP_BPF"}
	e.mustRefuse(e.writePolicy(pol), m, "BPFLOAD-E024", "CAP_PERFMON")
}

// An XDP program on an interface that exists but that the rule's
// attach.interfaces does not match.
func TestTamperInterfaceOutsideRule(t *testing.T) {
	e := newEnv(t)
	v := newVethPair(t)
	k := newSSHKey(t, t.TempDir(), "dev", "ed25519")
	m := e.manifest("m.yaml", "tamper-iface", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: xdp_count
    attach: {xdp: {interface: `+v.ifA+`, mode: generic}}
`)
	sshSign(t, k.priv, "bpfload", m)
	policyFor := func(glob string) string {
		pol := simplePolicy(k)
		pol.rules[0].caps = []string{"CAP_BPF", "CAP_NET_ADMIN"}
		pol.rules[0].extra = fmt.Sprintf("    attach:\n      interfaces: [%q]\n", glob)
		return e.writePolicy(pol)
	}
	// The same manifest verifies where the rule allows the interface.
	if r := e.runIn(v.nsA, "verify", "--policy", policyFor("vbpf*"), m); r.code != 0 {
		t.Fatalf("verify with interfaces [vbpf*]: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	p := policyFor("eth*")
	wantFailure(t, e.runIn(v.nsA, "verify", "--policy", p, m), 3, "BPFLOAD-E024", v.ifA)
	wantFailure(t, e.runIn(v.nsA, "load", "--policy", p, m), 3, "BPFLOAD-E024", v.ifA)
	e.assertNothingLoaded()
}

// A cgroup program on a cgroup the rule's attach.cgroups does not match.
func TestTamperCgroupOutsideRule(t *testing.T) {
	e := newEnv(t)
	cg := newCgroup(t)
	k := newSSHKey(t, t.TempDir(), "dev", "ed25519")
	m := e.manifest("m.yaml", "tamper-cgroup", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: allow_ingress
    attach: {cgroup: {path: `+cg+`}}
`)
	sshSign(t, k.priv, "bpfload", m)
	policyFor := func(glob string) string {
		pol := simplePolicy(k)
		pol.rules[0].caps = []string{"CAP_BPF", "CAP_NET_ADMIN"}
		pol.rules[0].extra = fmt.Sprintf("    attach:\n      cgroups: [%q]\n", glob)
		return e.writePolicy(pol)
	}
	e.mustVerify(policyFor(cgroup2Root+"/bpfload-e2e-*"), m)
	e.mustRefuse(policyFor(cgroup2Root+"/allowed-*"), m, "BPFLOAD-E024", cg)
}

// A manifest whose pin: lies on the env's bpffs but outside the rule's pin
// root (which defaults to --pin-root).
func TestTamperPinOutsideRoot(t *testing.T) {
	e := newEnv(t)
	elsewhere := filepath.Join(e.bpffs, "elsewhere")
	p, m, _ := signedSwitch(e, "tamper-pin", "pin: "+filepath.Join(elsewhere, "tamper-pin")+switchBody)
	e.mustRefuse(p, m, "BPFLOAD-E024", "pin root", e.pinRoot)
	if _, err := os.Lstat(elsewhere); !os.IsNotExist(err) {
		t.Errorf("%s was created (%v)", elsewhere, err)
	}
}

// The object in the manifest's directory is a symlink to a genuine copy
// elsewhere: bpfload reads no object through a symlink.
func TestTamperSymlinkedObject(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-symlink", switchBody)
	e.mustVerify(p, m)
	obj := filepath.Join(e.dir, "tracing.bpf.o")
	genuine := filepath.Join(t.TempDir(), "tracing.bpf.o")
	mustRename(t, obj, genuine)
	if err := os.Symlink(genuine, obj); err != nil {
		t.Fatal(err)
	}
	e.mustRefuse(p, m, "BPFLOAD-E013", "symlink")
}

// Threshold 2: one signature, or two by the same signer, is not enough.
func TestTamperThresholdNotMet(t *testing.T) {
	setup := func(t *testing.T) (*env, sshKey, string, string) {
		e := newEnv(t)
		keys := t.TempDir()
		a := newSSHKey(t, keys, "alice", "ed25519")
		b := newSSHKey(t, keys, "bob", "ed25519")
		p := e.writePolicy(policySpec{
			signers: []string{sshSigner("alice", a), sshSigner("bob", b)},
			rules: []ruleSpec{{manifests: []string{"*"}, signers: []string{"alice", "bob"}, threshold: 2,
				caps: []string{"CAP_BPF", "CAP_PERFMON"}}},
		})
		m := e.manifest("m.yaml", "tamper-threshold", "tracing.bpf.o", switchBody)
		sshSign(t, a.priv, "bpfload", m)
		return e, a, p, m
	}
	t.Run("one-signature", func(t *testing.T) {
		e, _, p, m := setup(t)
		e.mustRefuse(p, m, "BPFLOAD-E022", "2 distinct keys")
	})
	t.Run("same-signer-twice", func(t *testing.T) {
		e, a, p, m := setup(t)
		e.bpfloadSign(a.priv, m, "--out", m+".2.sig")
		e.mustRefuse(p, m, "BPFLOAD-E022", "2 distinct keys")
	})
}

// A signature file cut in half.
func TestTamperTruncatedSignature(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-truncated", switchBody)
	e.mustVerify(p, m)
	sig, err := os.ReadFile(m + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m+".sig", sig[:len(sig)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRefuse(p, m, "BPFLOAD-E020")
}

// A valid signature padded past the 64 KiB limit is refused unread.
func TestTamperOversizedSignature(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-oversized", switchBody)
	e.mustVerify(p, m)
	f, err := os.OpenFile(m+".sig", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(bytes.Repeat([]byte("\n"), 64<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	e.mustRefuse(p, m, "BPFLOAD-E020", "65536")
}

// No signature at all.
func TestTamperNoSignature(t *testing.T) {
	e := newEnv(t)
	k := newSSHKey(t, t.TempDir(), "dev", "ed25519")
	p := e.writePolicy(simplePolicy(k))
	m := e.manifest("m.yaml", "tamper-unsigned", "tracing.bpf.o", switchBody)
	e.mustRefuse(p, m, "BPFLOAD-E019", "m.yaml.sig")
}

// MANIFEST.sig that is not a regular file: a directory is a bad signature
// (not an internal error), and a FIFO must be refused without blocking on
// it, as anyone who can write the manifest's directory can plant one.
func TestTamperSignatureNotRegularFile(t *testing.T) {
	for _, kind := range []string{"directory", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			k := newSSHKey(t, t.TempDir(), "dev", "ed25519")
			p := e.writePolicy(simplePolicy(k))
			m := e.manifest("m.yaml", "tamper-sig-"+kind, "tracing.bpf.o", switchBody)
			var err error
			if kind == "directory" {
				err = os.Mkdir(m+".sig", 0o755)
			} else {
				err = unix.Mkfifo(m+".sig", 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			e.mustRefuse(p, m, "BPFLOAD-E020", "m.yaml.sig")
		})
	}
}

// The object replaced by a FIFO after signing: refused as unreadable
// (only regular files are read), without blocking.
func TestTamperObjectFIFO(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-object-fifo", switchBody)
	e.mustVerify(p, m)
	obj := filepath.Join(e.dir, "tracing.bpf.o")
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(obj, 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRefuse(p, m, "BPFLOAD-E013", "tracing.bpf.o")
}

// A signed manifest whose name no rule matches: deny by default.
func TestTamperNoRule(t *testing.T) {
	e := newEnv(t)
	p, m, k := signedSwitch(e, "tamper-norule", switchBody)
	e.mustVerify(p, m)
	pol := simplePolicy(k)
	pol.rules[0].manifests = []string{"net-*"}
	e.mustRefuse(e.writePolicy(pol), m, "BPFLOAD-E023", `"tamper-norule"`)
}

// A trust policy others may write (world- or group-writable) is not used
// at all.
func TestTamperWritablePolicy(t *testing.T) {
	for _, mode := range []os.FileMode{0o666, 0o620} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			e := newEnv(t)
			p, m, _ := signedSwitch(e, "tamper-policy-mode", switchBody)
			e.mustVerify(p, m)
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			e.mustRefuse(p, m, "BPFLOAD-E026", fmt.Sprintf("%04o", mode), "chmod go-w")
		})
	}
}

// Nor is a policy owned by a user other than root or the caller.
func TestTamperForeignPolicyOwner(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-policy-owner", switchBody)
	e.mustVerify(p, m)
	if err := os.Chown(p, 65534, -1); err != nil {
		t.Fatal(err)
	}
	e.mustRefuse(p, m, "BPFLOAD-E026", "uid 65534")
}

// A trust policy that does not exist.
func TestTamperMissingPolicy(t *testing.T) {
	e := newEnv(t)
	p, m, _ := signedSwitch(e, "tamper-policy-missing", switchBody)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	e.mustRefuse(p, m, "BPFLOAD-E026", "does not exist", p)
}

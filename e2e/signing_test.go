package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A manifest signed by the real ssh-keygen verifies and loads without
// --allow-unsigned, for each key type ssh-keygen makes.
func TestSSHKeygenSignatureLoads(t *testing.T) {
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t)
			k := newSSHKey(t, t.TempDir(), "signer", typ)
			p := e.writePolicy(simplePolicy(k))
			name := "sshkeygen-" + typ
			m := e.manifest("m.yaml", name, "tracing.bpf.o", switchBody)
			sig := sshSign(t, k.priv, "bpfload", m)

			if r := e.verifyWith(p, m); r.code != 0 || !strings.Contains(r.stdout, "by dev") {
				t.Fatalf("verify: exit %d, want 0 naming signer dev\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			v := e.mustVerify(p, m)
			if v.Name != name || len(v.Signatures) != 1 {
				t.Fatalf("verify report: %+v", v)
			}
			s := v.Signatures[0]
			if s.Signer != "dev" || s.Format != "sshsig" || !s.Counted || s.File != sig || s.Fingerprint != k.fingerprint() {
				t.Errorf("signature %+v; want sshsig by dev (%s) in %s, counted", s, k.fingerprint(), sig)
			}

			rep := e.loadSigned(p, m)
			if rep.Programs[0].Name != "on_switch" {
				t.Errorf("loaded %+v, want on_switch", rep.Programs)
			}
			if _, err := os.Stat(filepath.Join(e.pinRoot, name, "links", "on_switch")); err != nil {
				t.Errorf("link pin: %v", err)
			}
			e.unload(name)
		})
	}
}

// ssh-keygen -Y verify accepts what bpfload sign writes, for each key
// type, and only in the bpfload namespace.
func TestBpfloadSignatureVerifiesWithSSHKeygen(t *testing.T) {
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t)
			keys := t.TempDir()
			k := newSSHKey(t, keys, "signer", typ)
			m := e.manifest("m.yaml", "bpfloadsign", "tracing.bpf.o", switchBody)
			e.bpfloadSign(k.priv, m)
			allowed := filepath.Join(keys, "allowed_signers")
			line := `dev@example.com namespaces="bpfload" ` + k.pubLine() + "\n"
			if err := os.WriteFile(allowed, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			body, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			out := sshKeygenIn(t, string(body), "-Y", "verify", "-f", allowed, "-I", "dev@example.com", "-n", "bpfload", "-s", m+".sig")
			if !strings.Contains(out, `Good "bpfload" signature for dev@example.com`) {
				t.Errorf("ssh-keygen -Y verify: %s", out)
			}

			// And the signature is bound to its namespace and bytes.
			cmd := sshVerifyCmd(allowed, "dev@example.com", "file", m+".sig", string(body))
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("ssh-keygen -Y verify -n file accepted a bpfload signature:\n%s", out)
			}
			cmd = sshVerifyCmd(allowed, "dev@example.com", "bpfload", m+".sig", string(body)+"# appended\n")
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("ssh-keygen -Y verify accepted changed bytes:\n%s", out)
			}

			p := e.writePolicy(simplePolicy(k))
			if v := e.mustVerify(p, m); !slices.Equal(v.signers(), []string{"dev"}) {
				t.Errorf("verify: signers %v, want [dev]", v.signers())
			}
		})
	}
}

// sshCertCase is one certificate shown to a policy whose sshCA signer
// trusts CA ca for principal alice.
type sshCertCase struct {
	name      string
	issuer    string // "ca", "other-ca": which CA signs the certificate
	principal string
	validity  string
	host      bool   // a host certificate instead of a user certificate
	revokeCA  bool   // the policy revokes the CA
	code      string // "" if the manifest must load
	words     []string
}

// SSH CA certificates: a valid user certificate for the policy's principal
// verifies and loads, whether bpfload sign or ssh-keygen -Y sign made the
// signature; any other certificate is untrusted (E021).
func TestSSHCertificate(t *testing.T) {
	requireRoot(t)
	cas := t.TempDir()
	ca := newSSHKey(t, cas, "ca", "ed25519")
	otherCA := newSSHKey(t, cas, "other-ca", "ed25519")
	cases := []sshCertCase{
		{name: "valid", issuer: "ca", principal: "alice", validity: "-1d:+1d"},
		{name: "valid-multi-principal", issuer: "ca", principal: "bob,alice", validity: "-1d:+1d"},
		{name: "expired", issuer: "ca", principal: "alice", validity: "20200101:20200102", code: "BPFLOAD-E021", words: []string{"expired"}},
		{name: "not-yet-valid", issuer: "ca", principal: "alice", validity: "20990101:20990102", code: "BPFLOAD-E021", words: []string{"not yet valid"}},
		{name: "wrong-principal", issuer: "ca", principal: "mallory", validity: "-1d:+1d", code: "BPFLOAD-E021", words: []string{"mallory"}},
		{name: "untrusted-ca", issuer: "other-ca", principal: "alice", validity: "-1d:+1d", code: "BPFLOAD-E021", words: []string{otherCA.fingerprint()}},
		{name: "host-certificate", issuer: "ca", principal: "alice", validity: "-1d:+1d", host: true, code: "BPFLOAD-E021", words: []string{"user certificate"}},
		{name: "revoked-ca", issuer: "ca", principal: "alice", validity: "-1d:+1d", revokeCA: true, code: "BPFLOAD-E021", words: []string{"revoked", ca.fingerprint()}},
	}
	for _, c := range cases {
		for _, tool := range []string{"bpfload-sign", "ssh-keygen-sign"} {
			t.Run(c.name+"/"+tool, func(t *testing.T) {
				issuer := ca
				if c.issuer == "other-ca" {
					issuer = otherCA
				}
				testSSHCertificate(t, c, tool, ca, issuer)
			})
		}
	}
}

func testSSHCertificate(t *testing.T, c sshCertCase, tool string, ca, issuer sshKey) {
	e := newEnv(t)
	k := newSSHKey(t, t.TempDir(), "user", "ed25519")
	id := "id-" + c.name
	args := []string{"-q", "-s", issuer.priv, "-I", id, "-n", c.principal, "-V", c.validity}
	if c.host {
		args = append(args, "-h")
	}
	sshKeygen(t, append(args, k.pub())...)
	cert := k.priv + "-cert.pub"

	pol := policySpec{
		signers: []string{caSigner("team", ca, "alice")},
		rules:   []ruleSpec{{manifests: []string{"*"}, signers: []string{"team"}, caps: []string{"CAP_BPF", "CAP_PERFMON"}}},
	}
	if c.revokeCA {
		pol.revoked = []string{ca.fingerprint()}
	}
	p := e.writePolicy(pol)
	name := "cert-" + c.name
	m := e.manifest("m.yaml", name, "tracing.bpf.o", switchBody)
	if tool == "bpfload-sign" {
		e.bpfloadSign(k.priv, m) // embeds KEY-cert.pub
	} else {
		// OpenSSH 9.2 signs with a certificate given by -f, using the
		// private key beside it: no agent needed.
		sshSign(t, cert, "bpfload", m)
	}
	if err := sigEmbedsCert(m + ".sig"); err != nil {
		t.Fatal(err)
	}

	if c.code != "" {
		words := c.words
		if !c.revokeCA {
			// The message names the certificate; a revoked CA is named instead.
			words = append([]string{id}, words...)
		}
		e.mustRefuse(p, m, c.code, words...)
		return
	}
	v := e.mustVerify(p, m)
	if len(v.Signatures) != 1 || v.Signatures[0].Signer != "team" || v.Signatures[0].Fingerprint != k.fingerprint() || !v.Signatures[0].Counted {
		t.Errorf("verify report %+v; want one counted signature by team with key %s", v.Signatures, k.fingerprint())
	}
	e.loadSigned(p, m)
	e.unload(name)

	// The user key alone, without its certificate, is not trusted.
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m + ".sig"); err != nil {
		t.Fatal(err)
	}
	e.bpfloadSign(k.priv, m)
	e.mustRefuse(p, m, "BPFLOAD-E021", k.fingerprint())
}

// sigEmbedsCert checks that an SSHSIG file carries a certificate as its
// public key, so the test exercises the certificate path.
func sigEmbedsCert(sig string) error {
	b, err := os.ReadFile(sig)
	if err != nil {
		return err
	}
	raw, err := unarmorSSHSIG(b)
	if err != nil {
		return err
	}
	if !strings.Contains(string(raw), "-cert-v01@openssh.com") {
		return fmt.Errorf("%s does not embed a certificate", sig)
	}
	return nil
}

// ssh-keygen -Y verify, given a cert-authority line for the CA, accepts
// the certificate signature bpfload sign writes.
func TestSSHKeygenVerifiesBpfloadCertificateSignature(t *testing.T) {
	e := newEnv(t)
	keys := t.TempDir()
	ca := newSSHKey(t, keys, "ca", "ed25519")
	k := newSSHKey(t, keys, "user", "ecdsa")
	k.certify(ca, "alice-laptop", "alice", "-1d:+1d")
	m := e.manifest("m.yaml", "certverify", "tracing.bpf.o", switchBody)
	e.bpfloadSign(k.priv, m)

	allowed := filepath.Join(keys, "allowed_signers")
	line := `alice cert-authority,namespaces="bpfload" ` + ca.pubLine() + "\n"
	if err := os.WriteFile(allowed, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	out := sshKeygenIn(t, string(body), "-Y", "verify", "-f", allowed, "-I", "alice", "-n", "bpfload", "-s", m+".sig")
	if !strings.Contains(out, `Good "bpfload" signature for alice with ECDSA-CERT key `+k.fingerprint()) {
		t.Errorf("ssh-keygen -Y verify: %s", out)
	}
	// Another identity is not covered by the certificate's principals.
	cmd := sshVerifyCmd(allowed, "mallory", "bpfload", m+".sig", string(body))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("ssh-keygen -Y verify -I mallory accepted alice's certificate:\n%s", out)
	}
}

// Two signatures from distinct listed signers, MANIFEST.sig and
// MANIFEST.2.sig, meet threshold 2.
func TestThresholdTwoSigners(t *testing.T) {
	e := newEnv(t)
	p, m := twoSignerSetup(e)
	v := e.mustVerify(p, m)
	if len(v.Signatures) != 2 || !v.Signatures[0].Counted || !v.Signatures[1].Counted {
		t.Fatalf("verify report: %+v; want two counted signatures", v.Signatures)
	}
	if got := v.signers(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("signers %v, want [alice bob] (MANIFEST.sig first)", got)
	}
	if v.Signatures[1].File != m+".2.sig" {
		t.Errorf("second signature file %s, want %s", v.Signatures[1].File, m+".2.sig")
	}
	e.loadSigned(p, m)
	e.unload("twosigners")
}

// --signature FILE (repeatable) names the signature files for verify and
// load; only those count.
func TestSignatureFlag(t *testing.T) {
	e := newEnv(t)
	p, m := twoSignerSetup(e)
	sigs := t.TempDir()
	a, b := filepath.Join(sigs, "alice.signature"), filepath.Join(sigs, "bob.signature")
	mustRename(t, m+".sig", a)
	mustRename(t, m+".2.sig", b)

	wantFailure(t, e.verifyWith(p, m), 3, "BPFLOAD-E019")
	v := e.mustVerify(p, m, "--signature", a, "--signature", b)
	if !slices.Equal(v.signers(), []string{"alice", "bob"}) {
		t.Errorf("signers %v, want [alice bob]", v.signers())
	}
	wantFailure(t, e.loadWith(p, m, "--signature", b), 3, "BPFLOAD-E022")
	e.assertNothingLoaded()
	e.loadSigned(p, m, "--signature", a, "--signature", b)
	e.unload("twosigners")
}

// --signature-dir DIR takes MANIFEST.sig, MANIFEST.2.sig from DIR.
func TestSignatureDirFlag(t *testing.T) {
	e := newEnv(t)
	p, m := twoSignerSetup(e)
	dir := t.TempDir()
	mustRename(t, m+".sig", filepath.Join(dir, "m.yaml.sig"))
	mustRename(t, m+".2.sig", filepath.Join(dir, "m.yaml.2.sig"))

	wantFailure(t, e.loadWith(p, m), 3, "BPFLOAD-E019")
	e.assertNothingLoaded()
	v := e.mustVerify(p, m, "--signature-dir", dir)
	if !slices.Equal(v.signers(), []string{"alice", "bob"}) {
		t.Errorf("signers %v, want [alice bob]", v.signers())
	}
	e.loadSigned(p, m, "--signature-dir", dir)
	e.unload("twosigners")
}

// twoSignerSetup writes a policy whose rule needs alice and bob, and
// manifest m.yaml signed by alice (bpfload sign, m.yaml.sig) and bob
// (ssh-keygen, m.yaml.2.sig).
func twoSignerSetup(e *env) (policy, manifest string) {
	e.t.Helper()
	keys := e.t.TempDir()
	a := newSSHKey(e.t, keys, "alice", "ed25519")
	b := newSSHKey(e.t, keys, "bob", "ecdsa")
	p := e.writePolicy(policySpec{
		signers: []string{sshSigner("alice", a), sshSigner("bob", b)},
		rules: []ruleSpec{{manifests: []string{"twosigners"}, signers: []string{"alice", "bob"}, threshold: 2,
			caps: []string{"CAP_BPF", "CAP_PERFMON"}}},
	})
	m := e.manifest("m.yaml", "twosigners", "tracing.bpf.o", switchBody)
	sshSign(e.t, b.priv, "bpfload", m)
	mustRename(e.t, m+".sig", m+".2.sig")
	e.bpfloadSign(a.priv, m)
	return p, m
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

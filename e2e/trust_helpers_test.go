package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// switchBody is a manifest body loading the raw tracepoint program
// on_switch of tracing.bpf.o, which needs CAP_BPF and CAP_PERFMON.
const switchBody = `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`

// sshKey is an OpenSSH key pair made by ssh-keygen: priv, and priv.pub.
type sshKey struct {
	t    *testing.T
	priv string
}

// newSSHKey generates a key of type typ (ed25519, ecdsa, rsa) in dir.
func newSSHKey(t *testing.T, dir, name, typ string) sshKey {
	t.Helper()
	priv := filepath.Join(dir, name)
	sshKeygen(t, "-q", "-t", typ, "-N", "", "-C", name, "-f", priv)
	return sshKey{t: t, priv: priv}
}

func (k sshKey) pub() string { return k.priv + ".pub" }

// pubLine is the public key as one authorized_keys line.
func (k sshKey) pubLine() string {
	k.t.Helper()
	b, err := os.ReadFile(k.pub())
	if err != nil {
		k.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// fingerprint is the key's SHA256:... fingerprint as ssh-keygen -lf prints it.
func (k sshKey) fingerprint() string {
	k.t.Helper()
	f := strings.Fields(sshKeygen(k.t, "-l", "-f", k.pub()))
	if len(f) < 2 || !strings.HasPrefix(f[1], "SHA256:") {
		k.t.Fatalf("ssh-keygen -lf %s: unexpected output %q", k.pub(), f)
	}
	return f[1]
}

// certify issues a user certificate for k, signed by ca, as k.priv-cert.pub.
func (k sshKey) certify(ca sshKey, id, principal, validity string) string {
	k.t.Helper()
	sshKeygen(k.t, "-q", "-s", ca.priv, "-I", id, "-n", principal, "-V", validity, k.pub())
	cert := k.priv + "-cert.pub"
	if _, err := os.Stat(cert); err != nil {
		k.t.Fatalf("ssh-keygen -s made no certificate: %v", err)
	}
	return cert
}

// noAgentEnv is the environment without SSH_AUTH_SOCK, so ssh-keygen uses
// only the key files it is given, never a developer's agent.
func noAgentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			env = append(env, kv)
		}
	}
	return env
}

// sshKeygen runs ssh-keygen, which must succeed, and returns its output.
func sshKeygen(t *testing.T, args ...string) string {
	t.Helper()
	return sshKeygenIn(t, "", args...)
}

func sshKeygenIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ssh-keygen", args...)
	cmd.Env = noAgentEnv()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sshVerifyCmd is ssh-keygen -Y verify of sig over message, for callers
// that expect it to fail.
func sshVerifyCmd(allowed, identity, ns, sig, message string) *exec.Cmd {
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", identity, "-n", ns, "-s", sig)
	cmd.Env = noAgentEnv()
	cmd.Stdin = strings.NewReader(message)
	return cmd
}

// unarmorSSHSIG decodes an armored SSHSIG file to its binary blob.
func unarmorSSHSIG(b []byte) ([]byte, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 3 || lines[0] != "-----BEGIN SSH SIGNATURE-----" || lines[len(lines)-1] != "-----END SSH SIGNATURE-----" {
		return nil, fmt.Errorf("not an armored SSH signature")
	}
	return base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
}

// sshSign signs file with ssh-keygen -Y sign in namespace ns, with keyFile
// (a private key, or a certificate beside its private key), and returns
// the signature file, file.sig.
func sshSign(t *testing.T, keyFile, ns, file string) string {
	t.Helper()
	sig := file + ".sig"
	// ssh-keygen would ask before overwriting; a leftover is a test bug.
	if _, err := os.Lstat(sig); err == nil {
		t.Fatalf("%s exists already", sig)
	}
	sshKeygen(t, "-Y", "sign", "-n", ns, "-f", keyFile, file)
	if _, err := os.Stat(sig); err != nil {
		t.Fatalf("ssh-keygen -Y sign wrote no signature: %v", err)
	}
	return sig
}

// bpfloadSign runs bpfload sign --key key [flags] manifest, which must
// succeed.
func (e *env) bpfloadSign(key, manifest string, flags ...string) {
	e.t.Helper()
	args := append(append([]string{"--key", key}, flags...), manifest)
	if r := e.run("sign", args...); r.code != 0 {
		e.t.Fatalf("bpfload sign %s: exit %d\nstdout: %s\nstderr: %s", manifest, r.code, r.stdout, r.stderr)
	}
}

// sshSigner is a signers: entry trusting one OpenSSH key.
func sshSigner(name string, k sshKey) string {
	return fmt.Sprintf("  - name: %s\n    ssh: %s\n", name, strconv.Quote(k.pubLine()))
}

// caSigner is a signers: entry trusting user certificates issued by ca
// for one of principals.
func caSigner(name string, ca sshKey, principals ...string) string {
	return fmt.Sprintf("  - name: %s\n    sshCA: %s\n    principals: [%s]\n", name, strconv.Quote(ca.pubLine()), strings.Join(principals, ", "))
}

// ruleSpec is one rule of a trust policy; extra holds further keys of the
// rule as YAML indented by four spaces.
type ruleSpec struct {
	manifests []string
	signers   []string
	caps      []string
	threshold int
	extra     string
}

type policySpec struct {
	signers []string // entries from sshSigner and caSigner
	revoked []string
	rules   []ruleSpec
}

func (p policySpec) yaml() string {
	var b strings.Builder
	b.WriteString("apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n")
	for _, s := range p.signers {
		b.WriteString(s)
	}
	if len(p.revoked) > 0 {
		b.WriteString("revoked:\n")
		for _, fp := range p.revoked {
			fmt.Fprintf(&b, "  - %q\n", fp)
		}
	}
	b.WriteString("rules:\n")
	for _, r := range p.rules {
		fmt.Fprintf(&b, "  - manifests: [%s]\n    signers: [%s]\n    capabilities: [%s]\n",
			quoteAll(r.manifests), strings.Join(r.signers, ", "), strings.Join(r.caps, ", "))
		if r.threshold > 0 {
			fmt.Fprintf(&b, "    threshold: %d\n", r.threshold)
		}
		b.WriteString(r.extra)
	}
	return b.String()
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// simplePolicy trusts key k as signer "dev" for every manifest, up to
// CAP_BPF and CAP_PERFMON.
func simplePolicy(k sshKey) policySpec {
	return policySpec{
		signers: []string{sshSigner("dev", k)},
		rules:   []ruleSpec{{manifests: []string{"*"}, signers: []string{"dev"}, caps: []string{"CAP_BPF", "CAP_PERFMON"}}},
	}
}

// writePolicy writes a trust policy, mode 0600, into the env's directory.
func (e *env) writePolicy(p policySpec) string {
	e.t.Helper()
	path := filepath.Join(e.dir, fmt.Sprintf("policy-%d.yaml", nextSerial()))
	if err := os.WriteFile(path, []byte(p.yaml()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	// Whatever the umask, the mode is exactly 0600.
	if err := os.Chmod(path, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// loadWith runs load --policy policy [flags] manifest, never with
// --allow-unsigned.
func (e *env) loadWith(policy, manifest string, flags ...string) result {
	e.t.Helper()
	return e.run("load", append(append([]string{"--policy", policy}, flags...), manifest)...)
}

// verifyWith runs verify --policy policy [flags] manifest.
func (e *env) verifyWith(policy, manifest string, flags ...string) result {
	e.t.Helper()
	return e.run("verify", append(append([]string{"--policy", policy}, flags...), manifest)...)
}

// loadSigned loads a signed manifest and returns the report.
func (e *env) loadSigned(policy, manifest string, flags ...string) loadReport {
	e.t.Helper()
	r := e.loadWith(policy, manifest, append([]string{"--output", "json"}, flags...)...)
	if r.code != 0 {
		e.t.Fatalf("load --policy %s %s: exit %d\nstdout: %s\nstderr: %s", policy, manifest, r.code, r.stdout, r.stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		e.t.Fatalf("load report: %v\n%s", err, r.stdout)
	}
	if len(rep.Programs) == 0 || rep.Programs[0].ID == 0 {
		e.t.Fatalf("load reported no loaded program: %s", r.stdout)
	}
	return rep
}

type verifyReport struct {
	Verified   bool   `json:"verified"`
	Name       string `json:"name"`
	Version    int64  `json:"version"`
	Rule       string `json:"rule"`
	Signatures []struct {
		File        string `json:"file"`
		Format      string `json:"format"`
		Signer      string `json:"signer"`
		Fingerprint string `json:"fingerprint"`
		Counted     bool   `json:"counted"`
	} `json:"signatures"`
	PinDir string `json:"pin_dir"`
}

// mustVerify runs verify --output json, which must succeed and say
// verified.
func (e *env) mustVerify(policy, manifest string, flags ...string) verifyReport {
	e.t.Helper()
	r := e.verifyWith(policy, manifest, append([]string{"--output", "json"}, flags...)...)
	if r.code != 0 {
		e.t.Fatalf("verify --policy %s %s: exit %d\nstdout: %s\nstderr: %s", policy, manifest, r.code, r.stdout, r.stderr)
	}
	var rep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		e.t.Fatalf("verify report: %v\n%s", err, r.stdout)
	}
	if !rep.Verified {
		e.t.Fatalf("verify exited 0 without \"verified\": true:\n%s", r.stdout)
	}
	return rep
}

// signers lists the signer names of a verify report, in order.
func (r verifyReport) signers() []string {
	var s []string
	for _, sig := range r.Signatures {
		s = append(s, sig.Signer)
	}
	return s
}

// mustRefuse checks that verify and load both refuse manifest with exit
// status 3 and code, and that nothing was loaded or pinned.
func (e *env) mustRefuse(policy, manifest, code string, words ...string) {
	e.t.Helper()
	wantFailure(e.t, e.runBounded("verify", "--policy", policy, manifest), 3, code, words...)
	wantFailure(e.t, e.runBounded("load", "--policy", policy, manifest), 3, code, words...)
	e.assertNothingLoaded()
}

// hangLimit bounds a bpfload run that must refuse: a hang (a FIFO opened
// for reading) fails that test instead of stalling the suite.
const hangLimit = 10 * time.Second

// runBounded is e.run, killing bpfload if it is still running after
// hangLimit.
func (e *env) runBounded(sub string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	defer cancel()
	full := append([]string{sub, "--pin-root", e.pinRoot, "--state-dir", e.stateDir}, args...)
	r := e.runRaw(exec.CommandContext(ctx, bin, full...))
	if ctx.Err() != nil {
		e.t.Fatalf("bpfload %s hung: killed after %s", strings.Join(full, " "), hangLimit)
	}
	return r
}

// commandFor is bpfload with exactly args, for runs that need flags other
// than the env's.
func commandFor(args ...string) *exec.Cmd { return exec.Command(bin, args...) }

// unload unloads name, which must succeed, and checks nothing is left.
func (e *env) unload(name string) {
	e.t.Helper()
	if r := e.run("unload", name); r.code != 0 {
		e.t.Fatalf("unload %s: exit %d\nstdout: %s\nstderr: %s", name, r.code, r.stdout, r.stderr)
	}
	e.assertNothingLoaded()
}

// flipByte XORs the byte at offset off of file with mask.
func flipByte(t *testing.T, file string, off int, mask byte) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 || off >= len(b) {
		t.Fatalf("%s: offset %d outside %d bytes", file, off, len(b))
	}
	b[off] ^= mask
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// setVersion rewrites a manifest written by e.manifest to version v.
func setVersion(t *testing.T, manifest string, v int) {
	t.Helper()
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "\nversion: 1\n", fmt.Sprintf("\nversion: %d\n", v), 1)
	if s == string(b) {
		t.Fatalf("%s has no version: 1 line", manifest)
	}
	if err := os.WriteFile(manifest, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

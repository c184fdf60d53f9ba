package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

const nobody = 65534

// nobodyEnv is an env that user nobody can use: the test directories are
// traversable, the bpffs root and the state directory are nobody's, and
// a copy of bpfload carries file capabilities cap_bpf,cap_perfmon=p.
type nobodyEnv struct {
	*env
	bin string
}

func newNobodyEnv(t *testing.T) *nobodyEnv {
	t.Helper()
	e := newEnv(t)
	// t.TempDir makes its directories 0700.
	for _, d := range []string{filepath.Dir(e.dir), e.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(e.bpffs, nobody, nobody); err != nil {
		t.Fatalf("chown bpffs: %v", err)
	}
	if err := os.Mkdir(e.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(e.stateDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(e.dir, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	nb := filepath.Join(binDir, "bpfload")
	if err := os.WriteFile(nb, data, 0o755); err != nil {
		t.Fatal(err)
	}
	fc, err := cap.FromText("cap_bpf,cap_perfmon=p")
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.SetFile(nb); err != nil {
		t.Fatalf("set file capabilities on %s: %v", nb, err)
	}
	return &nobodyEnv{env: e, bin: nb}
}

// trust signs manifest with a fresh key and returns a trust policy for it
// that a privileged bpfload accepts: root's, in a directory chain only
// root may write (/run), so nobody cannot have chosen it.
func (n *nobodyEnv) trust(manifest string) string {
	n.t.Helper()
	dir, err := os.MkdirTemp("/run", "bpfload-e2e-")
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	key := filepath.Join(dir, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", key).CombinedOutput(); err != nil {
		n.t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "sign", "--force", "--key", key, manifest).CombinedOutput(); err != nil {
		n.t.Fatalf("sign: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		n.t.Fatal(err)
	}
	pol := filepath.Join(dir, "policy.yaml")
	text := "apiVersion: bpfload/v1\nkind: TrustPolicy\nsigners:\n  - name: e2e\n    ssh: \"" + strings.TrimSpace(string(pub)) +
		"\"\nrules:\n  - manifests: [\"*\"]\n    signers: [e2e]\n    capabilities: [CAP_BPF, CAP_PERFMON]\n    pinRoot: " + n.pinRoot + "\n"
	if err := os.WriteFile(pol, []byte(text), 0o644); err != nil {
		n.t.Fatal(err)
	}
	return pol
}

// runNobody runs the capability-bearing copy of bpfload as nobody.
func (n *nobodyEnv) runNobody(sub string, args ...string) result {
	n.t.Helper()
	full := append([]string{sub, "--pin-root", n.pinRoot, "--state-dir", n.stateDir}, args...)
	cmd := exec.Command(n.bin, full...)
	cmd.Dir = n.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	return n.runRaw(cmd)
}

// As nobody, with only file capabilities and no setuid, bpfload loads a
// raw_tracepoint program, lists it and unloads it; the report shows the
// capabilities raised during the load and none after.
func TestNonRootFileCapsRawTracepoint(t *testing.T) {
	n := newNobodyEnv(t)
	m := n.manifest("sw.yaml", "switches", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`)
	r := n.runNobody("load", "--policy", n.trust(m), "--output", "json", m)
	if r.code != 0 {
		t.Fatalf("load as nobody: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("load report: %v\n%s", err, r.stdout)
	}
	if want := []string{"CAP_BPF", "CAP_PERFMON"}; !slices.Equal(rep.Capabilities.DuringLoad, want) {
		t.Errorf("during load: %v, want %v", rep.Capabilities.DuringLoad, want)
	}
	if len(rep.Capabilities.AfterDrop) != 0 {
		t.Errorf("after drop: %v, want none", rep.Capabilities.AfterDrop)
	}
	// The pins belong to nobody, who created them without a capability.
	var st syscall.Stat_t
	if err := syscall.Stat(rep.PinDir, &st); err != nil || st.Uid != nobody {
		t.Errorf("pin dir %s: uid %d, err %v; want owned by nobody", rep.PinDir, st.Uid, err)
	}
	pin := filepath.Join(n.pinRoot, "switches", "maps", "switches")
	waitCounter(t, pin, counter(t, pin)+1)

	r = n.runNobody("list", "--output", "json")
	if r.code != 0 {
		t.Fatalf("list as nobody: exit %d\n%s", r.code, r.stderr)
	}
	var items []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		t.Fatalf("list output: %v\n%s", err, r.stdout)
	}
	if len(items) != 1 || items[0].Name != "switches" || items[0].Status != "ok" {
		t.Errorf("list as nobody: %+v", items)
	}

	r = n.runNobody("unload", "switches")
	if r.code != 0 {
		t.Fatalf("unload as nobody: exit %d\n%s", r.code, r.stderr)
	}
	n.assertNothingLoaded()
}

// A tracepoint needs its ID from tracefs, which nobody cannot read:
// bpfload says so, points at raw_tracepoint, and leaves nothing loaded.
func TestNonRootTracepointNeedsTracefs(t *testing.T) {
	n := newNobodyEnv(t)
	m := n.manifest("op.yaml", "opens", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`)
	r := n.runNobody("load", "--policy", n.trust(m), m)
	wantFailure(t, r, 4, "BPFLOAD-E033", "raw_tracepoint", "count_openat")
	n.assertNothingLoaded()
	if r := n.runNobody("list", "--output", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("list after a failed load: exit %d, %q", r.code, r.stdout)
	}
}

// With file capabilities, nothing the caller chooses stands in for the
// trust policy: no --allow-unsigned, no policy of its own, no dry-run or
// trial load of what no signed manifest allows.
func TestPrivilegedModeRefusals(t *testing.T) {
	n := newNobodyEnv(t)
	body := `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`
	m := n.manifest("sw.yaml", "switches", "tracing.bpf.o", body)
	pol := n.trust(m)
	wantFailure(t, n.runNobody("load", "--allow-unsigned", m), 4, "BPFLOAD-E035", "--allow-unsigned")
	own := filepath.Join(n.dir, "own-policy.yaml")
	data, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(own, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, n.runNobody("load", "--policy", own, m), 3, "BPFLOAD-E026", "root alone")
	dry := func(args ...string) result {
		cmd := exec.Command(n.bin, args...)
		cmd.Dir = n.dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		return n.runRaw(cmd)
	}
	wantFailure(t, dry("--dry-run", filepath.Join(n.dir, "tracing.bpf.o")), 4, "BPFLOAD-E035", "bare object")
	wantFailure(t, dry("--dry-run", "--policy", own, m), 3, "BPFLOAD-E026")
	trial := exec.Command(n.bin, "__dryrun-trial")
	trial.Stdin = strings.NewReader(`{"object":"AAAA","programs":[{"name":"x","none":true}],"capabilities":["CAP_BPF"]}`)
	trial.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if r := n.runRaw(trial); r.code == 0 || !strings.Contains(r.stderr, "BPFLOAD-E035") {
		t.Errorf("a made-up trial load ran: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The signed manifest under the root-owned policy dry-runs.
	r := dry("--dry-run", "--policy", pol, "--pin-root", n.pinRoot, "--output", "json", m)
	if r.code != 0 || !strings.Contains(r.stdout, `"CAP_BPF"`) {
		t.Errorf("dry-run of a signed manifest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	n.assertNothingLoaded()
}

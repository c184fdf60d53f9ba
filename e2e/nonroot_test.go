package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	r := n.runNobody("load", "--allow-unsigned", "--output", "json", m)
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
	r := n.runNobody("load", "--allow-unsigned", m)
	wantFailure(t, r, 4, "BPFLOAD-E033", "raw_tracepoint", "count_openat")
	n.assertNothingLoaded()
	if r := n.runNobody("list", "--output", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("list after a failed load: exit %d, %q", r.code, r.stdout)
	}
}

package e2e

import (
	"path/filepath"
	"strconv"
	"testing"
)

const libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"

// callGetpid makes bash call libc's getpid n times: each $BASHPID does.
func callGetpid(t *testing.T, n int) {
	t.Helper()
	sh(t, "bash", "-c", `for i in $(seq `+strconv.Itoa(n)+`); do echo $BASHPID; done`)
}

// A classic uprobe goes through the uprobe PMU, which Linux 6.16+ checks
// for CAP_SYS_ADMIN; that capability alone is the least set that works,
// as it passes the CAP_BPF and CAP_PERFMON checks of the load too.
func TestUprobeLibc(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("up.yaml", "uprobe", "tracing.bpf.o", `
capabilities: [CAP_SYS_ADMIN]
programs:
  - name: on_call
    attach: {uprobe: {binary: `+libc+`, symbol: getpid}}
`)
	rep := e.mustLoad(m)
	if len(rep.Programs) != 1 || rep.Programs[0].LinkPin == "" {
		t.Fatalf("unexpected report: %+v", rep.Programs)
	}
	pin := filepath.Join(e.pinRoot, "uprobe", "maps", "calls")
	before := counter(t, pin)
	callGetpid(t, 10)
	waitCounter(t, pin, before+10)

	if r := e.run("unload", "uprobe"); r.code != 0 {
		t.Fatalf("unload: exit %d\n%s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

// A uprobe.multi program attaches through a uprobe_multi link, which
// needs nothing beyond what loading a kprobe-type program needs.
func TestUprobeMultiLibc(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("upm.yaml", "uprobe-multi", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_call_multi
    attach: {uprobe: {binary: `+libc+`, symbol: getpid}}
`)
	rep := e.mustLoad(m)
	if len(rep.Programs) != 1 || rep.Programs[0].LinkPin == "" {
		t.Fatalf("unexpected report: %+v", rep.Programs)
	}
	pin := filepath.Join(e.pinRoot, "uprobe-multi", "maps", "calls_multi")
	before := counter(t, pin)
	callGetpid(t, 10)
	waitCounter(t, pin, before+10)

	if r := e.run("unload", "uprobe-multi"); r.code != 0 {
		t.Fatalf("unload: exit %d\n%s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

// Without CAP_SYS_ADMIN the uprobe PMU refuses the attach: bpfload must
// say the kernel checks CAP_SYS_ADMIN, which the manifest lacks.
func TestUprobeWithoutSysAdmin(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("up.yaml", "uprobe", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_call
    attach: {uprobe: {binary: `+libc+`, symbol: getpid}}
`)
	r := e.mustFail(m, 4, "BPFLOAD-E0")
	wantFailure(t, r, 4, "BPFLOAD-E031", "CAP_SYS_ADMIN", "on_call")
}

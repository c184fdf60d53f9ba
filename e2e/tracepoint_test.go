package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A tracepoint program counts openat calls after bpfload has exited: the
// pinned link keeps it attached.
func TestTracepointCountsAfterExit(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("opensnoop.yaml", "opensnoop", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`)
	rep := e.mustLoad(m)
	if len(rep.Programs) != 1 || rep.Programs[0].LinkPin == "" || rep.Programs[0].Type != "tracepoint" {
		t.Fatalf("unexpected report: %+v", rep.Programs)
	}
	pin := filepath.Join(e.pinRoot, "opensnoop", "maps", "opens")
	before := counter(t, pin)
	for i := 0; i < 20; i++ {
		f, err := os.Open("/etc/hostname")
		if err == nil {
			f.Close()
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for counter(t, pin) < before+20 {
		if time.Now().After(deadline) {
			t.Fatalf("counter rose from %d to %d, want at least +20", before, counter(t, pin))
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := e.run("unload", "opensnoop")
	if r.code != 0 {
		t.Fatalf("unload: %d %s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

// The report's capability sets are read from /proc: during the load they
// equal the manifest's, after the drop they are empty.
func TestCapabilityReport(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "capreport", "tracing.bpf.o", `
capabilities: [CAP_PERFMON, CAP_BPF]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`)
	rep := e.mustLoad(m)
	want := []string{"CAP_BPF", "CAP_PERFMON"}
	if !slices.Equal(rep.Capabilities.DuringLoad, want) || !slices.Equal(rep.Capabilities.Manifest, want) {
		t.Errorf("during load %v, manifest %v; want %v", rep.Capabilities.DuringLoad, rep.Capabilities.Manifest, want)
	}
	if len(rep.Capabilities.AfterDrop) != 0 {
		t.Errorf("after drop: %v, want none", rep.Capabilities.AfterDrop)
	}
}

// A tracepoint manifest granting only CAP_BPF fails with a message naming
// CAP_PERFMON and leaves nothing loaded or pinned.
func TestTracepointWithoutPerfmon(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "noperfmon", "tracing.bpf.o", `
capabilities: [CAP_BPF]
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`)
	r := e.mustFail(m, 4, "BPFLOAD-E031")
	if !strings.Contains(r.stderr, "CAP_PERFMON") || !strings.Contains(r.stderr, "count_openat") {
		t.Errorf("message does not name CAP_PERFMON and the program:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "MEMLOCK") {
		t.Errorf("the MEMLOCK hint reached the user:\n%s", r.stderr)
	}
}

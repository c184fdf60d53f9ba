package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// linkInfo returns the link ID and the program it runs, from a link pin.
func linkInfo(t *testing.T, pin string) (link.ID, ebpf.ProgramID) {
	t.Helper()
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		t.Fatalf("open link pin: %v", err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.ID, info.Program
}

type replaceReport struct {
	Programs []struct {
		Name    string `json:"name"`
		ID      uint32 `json:"id"`
		LinkPin string `json:"link_pin"`
		Replace string `json:"replace"`
	} `json:"programs"`
}

// XDP links update in place: the same link runs the new program, and the
// old program is gone.
func TestReplaceXDPAtomically(t *testing.T) {
	e := newEnv(t)
	v := newVethPair(t)
	m := e.manifest("xdp.yaml", "xdp-replace", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: xdp_count
    attach: {xdp: {interface: `+v.ifA+`, mode: generic}}
`)
	e.mustLoadIn(v.nsA, m)
	pin := e.pinRoot + "/xdp-replace/links/xdp_count"
	linkBefore, progBefore := linkInfo(t, pin)

	r := e.runIn(v.nsA, "load", "--replace", "--allow-unsigned", "--output", "json", m)
	if r.code != 0 {
		t.Fatalf("replace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep replaceReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Programs) != 1 || !strings.HasPrefix(rep.Programs[0].Replace, "atomic") {
		t.Fatalf("report: %+v", rep.Programs)
	}
	linkAfter, progAfter := linkInfo(t, pin)
	if linkAfter != linkBefore {
		t.Errorf("link %d replaced by link %d: want the same link updated in place", linkBefore, linkAfter)
	}
	if progAfter == progBefore || uint32(progAfter) != rep.Programs[0].ID {
		t.Errorf("link runs program %d (before %d), report says %d", progAfter, progBefore, rep.Programs[0].ID)
	}
	e.assertGone(progBefore)
	// Traffic reaches the new program.
	udpSend(t, v.nsB, v.addrA, 9, 5)
	waitCounter(t, e.pinRoot+"/xdp-replace/maps/xdp_packets", 5)
	if r := e.runIn(v.nsA, "unload", "xdp-replace"); r.code != 0 {
		t.Fatalf("unload: %s", r.stderr)
	}
	e.assertNothingLoaded()
}

// Tracepoint links cannot be updated: the new link comes first, the old
// one goes, and the report says it was not atomic.
func TestReplaceTracepointNotAtomic(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("tp.yaml", "tp-replace", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`)
	first := e.mustLoad(m)
	rep := e.mustLoad(m, "--replace")
	if !strings.HasPrefix(rep.Programs[0].Attach, "raw_tracepoint") || rep.Programs[0].ID == first.Programs[0].ID {
		t.Fatalf("replace report: %+v", rep.Programs)
	}
	r := e.run("load", "--replace", "--allow-unsigned", m)
	if r.code != 0 || !strings.Contains(r.stdout, "not atomic") {
		t.Errorf("text report does not say the swap was not atomic:\n%s%s", r.stdout, r.stderr)
	}
	e.assertGone(ebpf.ProgramID(first.Programs[0].ID))
	e.assertGone(ebpf.ProgramID(rep.Programs[0].ID))
	if got := len(e.newPrograms()); got != 1 {
		t.Errorf("%d programs loaded after two replaces, want 1: %v", got, e.newPrograms())
	}
}

// --replace with nothing loaded is a plain load; over a pin directory
// bpfload did not make, it refuses.
func TestReplaceEdges(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("tp.yaml", "edge", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`)
	e.mustLoad(m, "--replace")
	if r := e.run("unload", "edge"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if err := mkdirAll(e.pinRoot + "/edge"); err != nil {
		t.Fatal(err)
	}
	r := e.run("load", "--replace", "--allow-unsigned", m)
	wantFailure(t, r, 7, "BPFLOAD-E063")
	e.assertNothingLoadedBut("edge")
}

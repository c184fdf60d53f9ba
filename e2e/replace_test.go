package e2e

import (
	"encoding/json"
	"os"
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

// A replace that moves a program to another interface attaches it there
// and detaches it from the old one, instead of updating the old link.
func TestReplaceMovesToNewTarget(t *testing.T) {
	e := newEnv(t)
	v := newVethPair(t)
	sh(t, "ip", "-n", v.nsA, "link", "add", "vbpfc", "type", "veth", "peer", "name", "vbpfd")
	body := func(ifc string) string {
		return `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: xdp_count
    attach: {xdp: {interface: ` + ifc + `, mode: generic}}
`
	}
	m1 := e.manifest("one.yaml", "xdp-move", "net.bpf.o", body(v.ifA))
	e.mustLoadIn(v.nsA, m1)
	pin := e.pinRoot + "/xdp-move/links/xdp_count"
	oldLink, _ := linkInfo(t, pin)
	m2 := e.manifest("two.yaml", "xdp-move", "net.bpf.o", body("vbpfc"))
	r := e.runIn(v.nsA, "load", "--replace", "--allow-unsigned", "--output", "json", m2)
	if r.code != 0 {
		t.Fatalf("replace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep replaceReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rep.Programs[0].Replace, "moved") {
		t.Errorf("report: %+v", rep.Programs)
	}
	newLink, _ := linkInfo(t, pin)
	if newLink == oldLink {
		t.Errorf("the old link %d was updated in place; it should have been replaced by a link on vbpfc", oldLink)
	}
	out := sh(t, "ip", "-n", v.nsA, "link", "show", v.ifA)
	if strings.Contains(out, "xdp") {
		t.Errorf("%s still has an XDP program after the move:\n%s", v.ifA, out)
	}
	if out := sh(t, "ip", "-n", v.nsA, "link", "show", "vbpfc"); !strings.Contains(out, "xdp") {
		t.Errorf("vbpfc has no XDP program after the move:\n%s", out)
	}
	if r := e.runIn(v.nsA, "unload", "xdp-move"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	e.assertNothingLoaded()
}

// A name is loaded once: the same manifest pinned elsewhere is refused,
// with or without --replace, instead of orphaning the first load.
func TestLoadSameNameElsewhereRefused(t *testing.T) {
	e := newEnv(t)
	body := `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`
	m1 := e.manifest("one.yaml", "twice", "tracing.bpf.o", body)
	e.mustLoad(m1)
	m2 := e.manifest("two.yaml", "twice", "tracing.bpf.o", "pin: "+e.pinRoot+"/elsewhere\n"+body)
	for _, extra := range [][]string{nil, {"--replace"}} {
		r := e.run("load", append(append([]string{"--allow-unsigned"}, extra...), m2)...)
		wantFailure(t, r, 7, "BPFLOAD-E060", "pinned in")
	}
	if r := e.run("unload", "twice"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	e.assertNothingLoaded()
}

// --replace gives the new pin directory the manifest's mode, like a first
// load; and a staging directory an interrupted replace left is refused
// until someone looks at it.
func TestReplaceModeAndLeftovers(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "moded", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
mode: "0640"
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`)
	e.mustLoad(m)
	dir := e.pinRoot + "/moded"
	mode := func() os.FileMode {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	first := mode()
	e.mustLoad(m, "--replace")
	if got := mode(); got != first || got != 0o750 {
		t.Errorf("pin directory mode %o after replace, %o after the first load, want 750", got, first)
	}
	left := dir + "_replacing_123"
	if err := os.Mkdir(left, 0o700); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, e.run("load", "--replace", "--allow-unsigned", m), 7, "BPFLOAD-E063", "interrupted --replace")
	wantFailure(t, e.run("unload", "moded"), 7, "BPFLOAD-E063", "rm -r")
	if err := os.Remove(left); err != nil {
		t.Fatal(err)
	}
	if r := e.run("unload", "moded"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	e.assertNothingLoaded()
}

package e2e

import (
	"path/filepath"
	"testing"
)

// XDP in generic mode on one end of a veth pair counts the datagrams sent
// from the other end, after bpfload has exited.
func TestXDPCountsVethTraffic(t *testing.T) {
	e := newEnv(t)
	v := newVethPair(t)
	m := e.manifest("xdp.yaml", "xdp", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: xdp_count
    attach: {xdp: {interface: `+v.ifA+`, mode: generic}}
`)
	e.mustLoadIn(v.nsA, m)
	pin := filepath.Join(e.pinRoot, "xdp", "maps", "xdp_packets")
	before := counter(t, pin)
	udpSend(t, v.nsB, v.addrA, 9, 20)
	waitCounter(t, pin, before+20)

	if r := e.run("unload", "xdp"); r.code != 0 {
		t.Fatalf("unload: exit %d\n%s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

// A tcx ingress program on a veth counts what arrives from the peer.
func TestTCXCountsVethTraffic(t *testing.T) {
	e := newEnv(t)
	v := newVethPair(t)
	m := e.manifest("tcx.yaml", "tcx", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: tc_accept
    attach: {tcx: {interface: `+v.ifA+`, direction: ingress}}
`)
	e.mustLoadIn(v.nsA, m)
	pin := filepath.Join(e.pinRoot, "tcx", "maps", "tc_packets")
	before := counter(t, pin)
	udpSend(t, v.nsB, v.addrA, 9, 20)
	waitCounter(t, pin, before+20)

	if r := e.run("unload", "tcx"); r.code != 0 {
		t.Fatalf("unload: exit %d\n%s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

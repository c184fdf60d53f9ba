package e2e

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// A socket filter loaded with attach: none is pinned for its user: the
// test opens the pin, attaches it to its own UDP socket and sees it count.
func TestSocketFilterAttachNone(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sf.yaml", "sockfilter", "net.bpf.o", `
capabilities: [CAP_BPF]
programs:
  - name: sock_filter
    attach: none
`)
	rep := e.mustLoad(m)
	if len(rep.Programs) != 1 || rep.Programs[0].Type != "socket_filter" || rep.Programs[0].LinkPin != "" {
		t.Fatalf("unexpected report: %+v", rep.Programs)
	}
	prog, err := ebpf.LoadPinnedProgram(filepath.Join(e.pinRoot, "sockfilter", "progs", "sock_filter"), nil)
	if err != nil {
		t.Fatalf("open pinned program: %v", err)
	}
	defer prog.Close()

	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if err := link.AttachSocketFilter(rx, prog); err != nil {
		t.Fatalf("attach socket filter: %v", err)
	}
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	pin := filepath.Join(e.pinRoot, "sockfilter", "maps", "sock_packets")
	before := counter(t, pin)
	const n = 10
	buf := make([]byte, 64)
	for i := 0; i < n; i++ {
		if _, err := tx.Write([]byte("bpfload")); err != nil {
			t.Fatal(err)
		}
		// The filter returns skb->len: every datagram must still arrive.
		_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := rx.ReadFromUDP(buf); err != nil {
			t.Fatalf("datagram %d did not pass the filter: %v", i, err)
		}
	}
	waitCounter(t, pin, before+n)

	if err := link.DetachSocketFilter(rx); err != nil {
		t.Errorf("detach socket filter: %v", err)
	}
	prog.Close()
	if r := e.run("unload", "sockfilter"); r.code != 0 {
		t.Fatalf("unload: exit %d\n%s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

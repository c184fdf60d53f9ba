package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// status returns `status --output json NAME`.
func (e *env) status(name string) listItem {
	e.t.Helper()
	r := e.run("status", "--output", "json", name)
	if r.code != 0 {
		e.t.Fatalf("status %s: exit %d\n%s", name, r.code, r.stderr)
	}
	var it listItem
	if err := json.Unmarshal([]byte(r.stdout), &it); err != nil {
		e.t.Fatalf("status output: %v\n%s", err, r.stdout)
	}
	return it
}

func checkAttached(t *testing.T, it listItem, name, prog, attach string) {
	t.Helper()
	if it.Name != name || it.Status != "ok" || len(it.Programs) != 1 {
		t.Fatalf("status: %+v", it)
	}
	p := it.Programs[0]
	if p.Name != prog || p.State != "attached" || !strings.HasPrefix(p.Attach, attach) || p.LinkPin == "" {
		t.Errorf("status program: %+v", p)
	}
}

// sk_lookup needs only CAP_BPF here: the program type is neither a
// net-admin nor a perfmon type, and the netns link checks nothing.
func TestSkLookupInNetns(t *testing.T) {
	e := newEnv(t)
	ns := newNetns(t)
	m := e.manifest("skl.yaml", "sklookup", "net.bpf.o", `
capabilities: [CAP_BPF]
programs:
  - name: lookup
    attach: {sk_lookup: {netns: /proc/self/ns/net}}
`)
	e.mustLoadIn(ns, m)
	checkAttached(t, e.status("sklookup"), "sklookup", "lookup", "sk_lookup")

	// Each datagram to a local address makes the stack look up a socket.
	pin := filepath.Join(e.pinRoot, "sklookup", "maps", "lookups")
	before := counter(t, pin)
	udpSend(t, ns, "127.0.0.1", 9, 5)
	waitCounter(t, pin, before+5)

	e.mustUnload("sklookup")
	e.assertNothingLoaded()
}

// A netfilter program is a net-admin program type: CAP_BPF and
// CAP_NET_ADMIN; the netfilter link itself checks nothing more.
func TestNetfilterInNetns(t *testing.T) {
	e := newEnv(t)
	ns := newNetns(t)
	m := e.manifest("nf.yaml", "nf", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: nf
    attach: {netfilter: {family: ipv4, hook: local_in, priority: -128}}
`)
	e.mustLoadIn(ns, m)
	checkAttached(t, e.status("nf"), "nf", "nf", "netfilter")

	pin := filepath.Join(e.pinRoot, "nf", "maps", "nf_packets")
	before := counter(t, pin)
	udpSend(t, ns, "127.0.0.1", 9, 5)
	waitCounter(t, pin, before+5)

	e.mustUnload("nf")
	e.assertNothingLoaded()
}

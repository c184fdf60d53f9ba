package e2e

import (
	"strings"
	"testing"
)

// One program the verifier rejects, between two it accepts: the load
// fails as a whole and nothing stays loaded or pinned.
func TestVerifierRejectionLoadsNothing(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("broken.yaml", "broken", "broken.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: first_ok
    attach: {raw_tracepoint: sys_enter}
  - name: rejected
    attach: {raw_tracepoint: sys_exit}
  - name: last_ok
    attach: {raw_tracepoint: sched_switch}
`)
	r := e.mustFail(m, 5, "BPFLOAD-E040")
	wantFailure(t, r, 5, "BPFLOAD-E040", "rejected", "map_value_or_null")
	if r := e.run("list", "--output", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("list after a failed load: exit %d, %q", r.code, r.stdout)
	}
}

// The second of three attaches fails in the kernel (XDP offload on a veth,
// which cannot offload): the first attach is undone, nothing stays.
func TestAttachFailureInMiddleLoadsNothing(t *testing.T) {
	e := newEnv(t)
	v := newVethPair(t)
	m := e.manifest("three.yaml", "three", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: tc_accept
    attach: {tcx: {interface: `+v.ifA+`, direction: ingress}}
  - name: xdp_count
    attach: {xdp: {interface: `+v.ifA+`, mode: offload}}
  - name: nf
    attach: {netfilter: {family: ipv4, hook: local_in, priority: -128}}
`)
	r := e.runIn(v.nsA, "load", "--allow-unsigned", m)
	wantFailure(t, r, 6, "BPFLOAD-E050", "xdp_count", "offload")
	e.assertNothingLoaded()
	if r := e.run("list", "--output", "json"); r.code != 0 || r.stdout != "[]\n" {
		t.Errorf("list after a failed load: exit %d, %q", r.code, r.stdout)
	}
}

// --verbose prints the verifier's whole log for a rejected program; without
// it only the last lines and a hint.
func TestVerboseVerifierLog(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("broken.yaml", "verbose", "broken.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: rejected
    attach: {raw_tracepoint: sys_exit}
`)
	short := e.run("load", "--allow-unsigned", m)
	long := e.run("load", "--allow-unsigned", "--verbose", m)
	wantFailure(t, short, 5, "BPFLOAD-E040", "more lines with --verbose")
	wantFailure(t, long, 5, "BPFLOAD-E040", "detail:", "processed")
	if strings.Count(long.stderr, "\n") <= strings.Count(short.stderr, "\n") {
		t.Errorf("--verbose printed no more than without it:\n%s", long.stderr)
	}
	e.assertNothingLoaded()
}

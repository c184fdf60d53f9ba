package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serial numbers netns, interfaces and addresses, so no two tests of one
// run share them; the pid keeps concurrent runs apart.
var serial atomic.Int32

func nextSerial() int { return int(serial.Add(1)) }

// sh runs a command that must succeed.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNetns creates a network namespace with lo up, deleted in cleanup.
func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("bpfload-e2e-%d-%d", os.Getpid(), nextSerial())
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// vethPair is a veth link between two fresh namespaces, A and B, with
// addresses 10.199.N.1 (A) and 10.199.N.2 (B).
type vethPair struct {
	nsA, nsB     string
	ifA, ifB     string
	addrA, addrB string
}

func newVethPair(t *testing.T) vethPair {
	t.Helper()
	n := nextSerial()%250 + 1
	v := vethPair{nsA: newNetns(t), nsB: newNetns(t), ifA: "vbpfa", ifB: "vbpfb",
		addrA: fmt.Sprintf("10.199.%d.1", n), addrB: fmt.Sprintf("10.199.%d.2", n)}
	// Created inside the namespaces, so the names clash with nothing.
	sh(t, "ip", "link", "add", v.ifA, "netns", v.nsA, "type", "veth", "peer", "name", v.ifB, "netns", v.nsB)
	sh(t, "ip", "-n", v.nsA, "addr", "add", v.addrA+"/24", "dev", v.ifA)
	sh(t, "ip", "-n", v.nsB, "addr", "add", v.addrB+"/24", "dev", v.ifB)
	sh(t, "ip", "-n", v.nsA, "link", "set", v.ifA, "up")
	sh(t, "ip", "-n", v.nsB, "link", "set", v.ifB, "up")
	return v
}

// runIn runs bpfload SUBCOMMAND inside network namespace ns, with this
// env's pin root and state directory.
func (e *env) runIn(ns, sub string, args ...string) result {
	e.t.Helper()
	full := append([]string{"netns", "exec", ns, bin, sub, "--pin-root", e.pinRoot, "--state-dir", e.stateDir}, args...)
	return e.runRaw(exec.Command("ip", full...))
}

// mustLoadIn is mustLoad inside network namespace ns.
func (e *env) mustLoadIn(ns, manifest string) {
	e.t.Helper()
	r := e.runIn(ns, "load", "--allow-unsigned", manifest)
	if r.code != 0 {
		e.t.Fatalf("load %s in %s: exit %d\nstdout: %s\nstderr: %s", manifest, ns, r.code, r.stdout, r.stderr)
	}
}

// udpSend sends n small datagrams from namespace ns to addr:port with
// bash's /dev/udp, which needs no extra tool.
func udpSend(t *testing.T, ns, addr string, port, n int) {
	t.Helper()
	script := fmt.Sprintf("for i in $(seq %d); do echo bpfload > /dev/udp/%s/%d; done", n, addr, port)
	sh(t, "ip", "netns", "exec", ns, "bash", "-c", script)
}

// waitCounter waits until the pinned counter reaches at least want.
func waitCounter(t *testing.T, pin string, want uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := counter(t, pin)
		if v >= want {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counter is %d, want at least %d", pin, v, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantFailure checks a run's exit status and that its output carries code
// and every one of words.
func wantFailure(t *testing.T, r result, exit int, code string, words ...string) {
	t.Helper()
	out := r.stderr + r.stdout
	if r.code != exit || !strings.Contains(out, code) {
		t.Fatalf("want exit %d with %s, got exit %d\nstdout: %s\nstderr: %s", exit, code, r.code, r.stdout, r.stderr)
	}
	for _, w := range words {
		if !strings.Contains(out, w) {
			t.Errorf("output does not mention %q:\n%s", w, out)
		}
	}
}

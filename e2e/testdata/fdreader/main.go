// Command fdreader is the workload of the bpfload exec e2e tests: it reads
// a counter map only through the descriptor bpfload passed it
// (BPFLOAD_FD_<MAP>), never through a pin, and prints slot 0 before and
// after a few openat(2) calls: "NAME BEFORE AFTER".
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
)

func main() {
	if len(os.Args) != 2 {
		fail("usage: fdreader ENV_VAR")
	}
	n, err := strconv.Atoi(os.Getenv(os.Args[1]))
	if err != nil {
		fail(fmt.Sprintf("%s=%q: %v", os.Args[1], os.Getenv(os.Args[1]), err))
	}
	m, err := ebpf.NewMapFromFD(n)
	if err != nil {
		fail(fmt.Sprintf("map from fd %d: %v", n, err))
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		fail(fmt.Sprintf("map info of fd %d: %v", n, err))
	}
	before := lookup(m)
	// Each open is an openat(2) the tracepoint program counts.
	for range 5 {
		if f, err := os.Open("/proc/self/status"); err == nil {
			f.Close()
		}
	}
	fmt.Printf("%s %d %d\n", info.Name, before, lookup(m))
}

func lookup(m *ebpf.Map) uint64 {
	var v uint64
	if err := m.Lookup(uint32(0), &v); err != nil {
		fail(fmt.Sprintf("lookup: %v", err))
	}
	return v
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "fdreader:", msg)
	os.Exit(1)
}

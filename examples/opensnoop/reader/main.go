// Command reader prints the opensnoop example's counter from its pinned
// map, once a second. It needs no capability: only read access to the pin.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/cilium/ebpf"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: reader PINNED_MAP SECONDS")
		os.Exit(2)
	}
	secs, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "reader: SECONDS:", err)
		os.Exit(2)
	}
	m, err := ebpf.LoadPinnedMap(os.Args[1], &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "reader:", err)
		os.Exit(1)
	}
	defer m.Close()
	for i := 0; i < secs; i++ {
		var n uint64
		if err := m.Lookup(uint32(0), &n); err != nil {
			fmt.Fprintln(os.Stderr, "reader:", err)
			os.Exit(1)
		}
		fmt.Printf("openat calls so far: %d\n", n)
		// Open something, so the counter moves even on an idle machine.
		if f, err := os.Open("/etc/hostname"); err == nil {
			f.Close()
		}
		time.Sleep(time.Second)
	}
}

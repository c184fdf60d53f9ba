// Command minimal is the floor for a Go eBPF loader, for the benchmark:
// LoadCollectionSpec, NewCollection, attach raw tracepoints, pin programs,
// links and maps. No checks, no capability changes, no signatures.
//
//	minimal OBJECT PINDIR attach|none
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: minimal OBJECT PINDIR attach|none")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3] == "attach"); err != nil {
		fmt.Fprintln(os.Stderr, "minimal:", err)
		os.Exit(1)
	}
}

func run(obj, dir string, attach bool) error {
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		return err
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	for _, sub := range []string{"progs", "maps", "links"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	for name, m := range coll.Maps {
		if err := m.Pin(filepath.Join(dir, "maps", name)); err != nil && name[0] != '.' {
			return err
		}
	}
	for name, p := range coll.Programs {
		if err := p.Pin(filepath.Join(dir, "progs", name)); err != nil {
			return err
		}
		if !attach {
			continue
		}
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: spec.Programs[name].AttachTo, Program: p})
		if err != nil {
			return err
		}
		if err := l.Pin(filepath.Join(dir, "links", name)); err != nil {
			return err
		}
		l.Close()
	}
	return nil
}

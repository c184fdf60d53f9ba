package loader

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// RawTracepointAttach attaches a raw_tracepoint program to a kernel
// tracepoint by name, through BPF_RAW_TRACEPOINT_OPEN (Linux 4.17+). It
// needs no tracefs access, which makes it the tracepoint kind an
// unprivileged user can attach.
//
//	attach: {raw_tracepoint: sched_switch}
type RawTracepointAttach string

func (a *RawTracepointAttach) kind() string { return "raw_tracepoint" }

func (a *RawTracepointAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.RawTracepoint, ebpf.RawTracepointWritable)
}

func (a *RawTracepointAttach) check() error {
	if *a == "" || strings.ContainsAny(string(*a), "/ \t") {
		return fmt.Errorf("%w: raw_tracepoint %q must be a bare tracepoint name such as sched_switch", ErrBadAttach, string(*a))
	}
	return nil
}

func (a *RawTracepointAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	return link.AttachRawTracepoint(link.RawTracepointOptions{Name: string(*a), Program: prog})
}

func (a *RawTracepointAttach) target(*ebpf.ProgramSpec) string { return string(*a) }

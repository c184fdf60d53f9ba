package loader

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// LSMAttach attaches a BPF LSM program to the hook named by its ELF
// section, such as SEC("lsm/file_open") (Linux 5.7+, with "bpf" in the
// kernel's lsm= list).
//
//	attach: {lsm: {}}
type LSMAttach struct{}

func (a *LSMAttach) kind() string { return "lsm" }

func (a *LSMAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.LSM)
}

func (a *LSMAttach) check() error { return nil }

func (a *LSMAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	return link.AttachLSM(link.LSMOptions{Program: prog})
}

func (a *LSMAttach) target(spec *ebpf.ProgramSpec) string { return spec.AttachTo }

package loader

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// TracingAttach attaches a BTF-enabled tracing program: fentry, fexit,
// fmod_ret (Linux 5.5+) or tp_btf (5.5+). The target comes from the ELF
// section, such as SEC("fentry/do_unlinkat").
//
//	attach: {tracing: {}}
type TracingAttach struct{}

func (a *TracingAttach) kind() string { return "tracing" }

func (a *TracingAttach) fits(spec *ebpf.ProgramSpec) error {
	if err := typeIn(a.kind(), spec, ebpf.Tracing); err != nil {
		return err
	}
	switch spec.AttachType {
	case ebpf.AttachTraceFEntry, ebpf.AttachTraceFExit, ebpf.AttachModifyReturn, ebpf.AttachTraceRawTp:
		return nil
	}
	return fmt.Errorf("%w: tracing attaches fentry/fexit/fmod_ret/tp_btf programs; section %q is %s", ErrAttachMismatch, spec.SectionName, spec.AttachType)
}

func (a *TracingAttach) check() error { return nil }

func (a *TracingAttach) attach(prog *ebpf.Program, spec *ebpf.ProgramSpec) (link.Link, error) {
	return link.AttachTracing(link.TracingOptions{Program: prog, AttachType: spec.AttachType})
}

func (a *TracingAttach) target(spec *ebpf.ProgramSpec) string { return spec.AttachTo }

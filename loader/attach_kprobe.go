package loader

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// KprobeAttach attaches a kprobe (or, with Return, a kretprobe) program to
// a kernel function. Programs in kprobe.multi sections attach through a
// kprobe_multi link (Linux 5.18+, CONFIG_FPROBE); others through the
// kprobe PMU (CONFIG_KPROBES).
//
//	attach: {kprobe: {symbol: do_sys_openat2, return: false}}
type KprobeAttach struct {
	Symbol string `yaml:"symbol" json:"symbol"`
	Return bool   `yaml:"return,omitempty" json:"return,omitempty"`
}

func (a *KprobeAttach) kind() string { return "kprobe" }

func (a *KprobeAttach) fits(spec *ebpf.ProgramSpec) error {
	if err := typeIn(a.kind(), spec, ebpf.Kprobe); err != nil {
		return err
	}
	return probeSectionFits(a.kind(), "kprobe", "kretprobe", a.Return, spec)
}

func (a *KprobeAttach) check() error {
	if a.Symbol == "" || strings.ContainsAny(a.Symbol, "/ \t") {
		return fmt.Errorf("%w: kprobe needs symbol: the kernel function to probe, such as do_sys_openat2", ErrBadAttach)
	}
	return nil
}

func (a *KprobeAttach) attach(prog *ebpf.Program, spec *ebpf.ProgramSpec) (link.Link, error) {
	if spec.AttachType == ebpf.AttachTraceKprobeMulti {
		opts := link.KprobeMultiOptions{Symbols: []string{a.Symbol}}
		if a.Return {
			return link.KretprobeMulti(prog, opts)
		}
		return link.KprobeMulti(prog, opts)
	}
	if a.Return {
		return link.Kretprobe(a.Symbol, prog, nil)
	}
	return link.Kprobe(a.Symbol, prog, nil)
}

func (a *KprobeAttach) target(*ebpf.ProgramSpec) string {
	if a.Return {
		return a.Symbol + " (return)"
	}
	return a.Symbol
}

// probeSectionFits checks that a k/uprobe program's ELF section is of the
// probe family asked for, and that entry and return probes are not mixed:
// a kretprobe program reads its context as a return.
func probeSectionFits(kind, entry, ret string, wantReturn bool, spec *ebpf.ProgramSpec) error {
	sec := spec.SectionName
	isRet := strings.HasPrefix(sec, ret)
	if !isRet && !strings.HasPrefix(sec, entry) {
		return fmt.Errorf("%w: %s attaches programs in %s/%s sections; section %q is not one", ErrAttachMismatch, kind, entry, ret, sec)
	}
	multi := strings.Contains(sec, ".multi")
	if !multi && isRet != wantReturn {
		return fmt.Errorf("%w: section %q is a %s program; set return: %v", ErrAttachMismatch, sec, map[bool]string{true: "return-probe", false: "entry-probe"}[isRet], isRet)
	}
	return nil
}

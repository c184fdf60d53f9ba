package loader

import (
	"debug/elf"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// UprobeAttach attaches a uprobe (or, with Return, a uretprobe) program to
// a function of an ELF binary or shared library. Programs in uprobe.multi
// sections attach through a uprobe_multi link (Linux 6.6+), which needs no
// capability beyond loading; others use the uprobe PMU, which Linux checks
// for CAP_SYS_ADMIN.
//
//	attach: {uprobe: {binary: /usr/lib/x86_64-linux-gnu/libc.so.6, symbol: getpid}}
type UprobeAttach struct {
	Binary string `yaml:"binary" json:"binary"`
	Symbol string `yaml:"symbol" json:"symbol"`
	Return bool   `yaml:"return,omitempty" json:"return,omitempty"`
	// PID limits the probe to one process; 0 means every process.
	PID int `yaml:"pid,omitempty" json:"pid,omitempty"`
}

func (a *UprobeAttach) kind() string { return "uprobe" }

func (a *UprobeAttach) fits(spec *ebpf.ProgramSpec) error {
	if err := typeIn(a.kind(), spec, ebpf.Kprobe); err != nil {
		return err
	}
	return probeSectionFits(a.kind(), "uprobe", "uretprobe", a.Return, spec)
}

func (a *UprobeAttach) check() error {
	if a.Binary == "" || !filepath.IsAbs(a.Binary) {
		return fmt.Errorf("%w: uprobe binary %q must be an absolute path", ErrBadAttach, a.Binary)
	}
	if a.Symbol == "" {
		return fmt.Errorf("%w: uprobe needs symbol: the function in %s to probe", ErrBadAttach, a.Binary)
	}
	if a.PID < 0 {
		return fmt.Errorf("%w: uprobe pid %d is negative", ErrBadAttach, a.PID)
	}
	f, err := elf.Open(a.Binary)
	if err != nil {
		return fmt.Errorf("%w: uprobe binary %s: %v", ErrAttachTarget, a.Binary, err)
	}
	defer f.Close()
	for _, get := range []func() ([]elf.Symbol, error){f.DynamicSymbols, f.Symbols} {
		syms, err := get()
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			return fmt.Errorf("%w: uprobe binary %s: read symbols: %v", ErrAttachTarget, a.Binary, err)
		}
		for _, s := range syms {
			if s.Name == a.Symbol && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: uprobe: %s has no function symbol %q", ErrAttachTarget, a.Binary, a.Symbol)
}

func (a *UprobeAttach) attach(prog *ebpf.Program, spec *ebpf.ProgramSpec) (link.Link, error) {
	ex, err := link.OpenExecutable(a.Binary)
	if err != nil {
		return nil, err
	}
	if spec.AttachType == ebpf.AttachTraceUprobeMulti {
		opts := &link.UprobeMultiOptions{PID: uint32(a.PID)}
		if a.Return {
			return ex.UretprobeMulti([]string{a.Symbol}, prog, opts)
		}
		return ex.UprobeMulti([]string{a.Symbol}, prog, opts)
	}
	opts := &link.UprobeOptions{PID: a.PID}
	if a.Return {
		return ex.Uretprobe(a.Symbol, prog, opts)
	}
	return ex.Uprobe(a.Symbol, prog, opts)
}

func (a *UprobeAttach) target(*ebpf.ProgramSpec) string {
	s := a.Binary + ":" + a.Symbol
	if a.Return {
		s += " (return)"
	}
	return s
}

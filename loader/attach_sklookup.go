package loader

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// SkLookupAttach attaches an sk_lookup program to a network namespace,
// given by a path such as /proc/self/ns/net or /run/netns/NAME, through a
// netns link (Linux 5.9+).
//
//	attach: {sk_lookup: {netns: /proc/self/ns/net}}
type SkLookupAttach struct {
	Netns string `yaml:"netns" json:"netns"`
}

func (a *SkLookupAttach) kind() string { return "sk_lookup" }

func (a *SkLookupAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.SkLookup)
}

func (a *SkLookupAttach) check() error {
	if !filepath.IsAbs(a.Netns) {
		return fmt.Errorf("%w: sk_lookup netns %q must be an absolute path such as /proc/self/ns/net or /run/netns/NAME", ErrBadAttach, a.Netns)
	}
	f, err := os.Open(a.Netns)
	if err != nil {
		return fmt.Errorf("%w: sk_lookup netns %s: %v", ErrAttachTarget, a.Netns, err)
	}
	return f.Close()
}

func (a *SkLookupAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	f, err := os.Open(a.Netns)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return link.AttachNetNs(int(f.Fd()), prog)
}

func (a *SkLookupAttach) target(*ebpf.ProgramSpec) string { return a.Netns }

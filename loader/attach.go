package loader

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Attach says where one program attaches. Exactly one field is set, or None
// for a program that is loaded and pinned but attached by its user (a
// socket filter, a reuseport program). In a manifest it is written
// `attach: {KIND: ...}` or `attach: none`.
type Attach struct {
	None          bool                 `yaml:"-" json:"-"`
	Tracepoint    *TracepointAttach    `yaml:"tracepoint,omitempty" json:"tracepoint,omitempty"`
	RawTracepoint *RawTracepointAttach `yaml:"raw_tracepoint,omitempty" json:"raw_tracepoint,omitempty"`
	Tracing       *TracingAttach       `yaml:"tracing,omitempty" json:"tracing,omitempty"`
	LSM           *LSMAttach           `yaml:"lsm,omitempty" json:"lsm,omitempty"`
	Kprobe        *KprobeAttach        `yaml:"kprobe,omitempty" json:"kprobe,omitempty"`
	Uprobe        *UprobeAttach        `yaml:"uprobe,omitempty" json:"uprobe,omitempty"`
	XDP           *XDPAttach           `yaml:"xdp,omitempty" json:"xdp,omitempty"`
	TCX           *TCXAttach           `yaml:"tcx,omitempty" json:"tcx,omitempty"`
	Cgroup        *CgroupAttach        `yaml:"cgroup,omitempty" json:"cgroup,omitempty"`
	SkLookup      *SkLookupAttach      `yaml:"sk_lookup,omitempty" json:"sk_lookup,omitempty"`
	Netfilter     *NetfilterAttach     `yaml:"netfilter,omitempty" json:"netfilter,omitempty"`

	word string // the scalar given instead of a mapping, if any
}

// attachFields has Attach's fields without its methods, for decoding.
type attachFields Attach

// UnmarshalYAML accepts the scalar "none" or a mapping with one attach kind.
// The signature is the one YAML libraries call on their own.
func (a *Attach) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		// Validate reports a word other than none, with its line.
		*a = Attach{None: s == "none", word: s}
		return nil
	}
	var f attachFields
	if err := unmarshal(&f); err != nil {
		return err
	}
	*a = Attach(f)
	return nil
}

// attacher is implemented by each attach kind, one per attach_*.go file.
type attacher interface {
	// kind is the manifest key, such as "xdp".
	kind() string
	// fits reports whether a program of this spec can attach this way.
	fits(spec *ebpf.ProgramSpec) error
	// check validates the target (interface, cgroup, file) without privilege.
	check() error
	// attach attaches prog and returns the link that keeps it attached.
	attach(prog *ebpf.Program, spec *ebpf.ProgramSpec) (link.Link, error)
	// target describes the attach point for people, such as "eth0 (generic)".
	target(spec *ebpf.ProgramSpec) string
}

func (a *Attach) attachers() []attacher {
	var set []attacher
	add := func(ok bool, at attacher) {
		if ok {
			set = append(set, at)
		}
	}
	add(a.Tracepoint != nil, a.Tracepoint)
	add(a.RawTracepoint != nil, a.RawTracepoint)
	add(a.Tracing != nil, a.Tracing)
	add(a.LSM != nil, a.LSM)
	add(a.Kprobe != nil, a.Kprobe)
	add(a.Uprobe != nil, a.Uprobe)
	add(a.XDP != nil, a.XDP)
	add(a.TCX != nil, a.TCX)
	add(a.Cgroup != nil, a.Cgroup)
	add(a.SkLookup != nil, a.SkLookup)
	add(a.Netfilter != nil, a.Netfilter)
	return set
}

// resolve returns the one attacher a names, or nil for none.
func (a *Attach) resolve() (attacher, error) {
	if a.word != "" && a.word != "none" {
		return nil, fmt.Errorf("%w: %q is not an attach kind: write `none` or a mapping such as {tracepoint: GROUP/NAME}; kinds: %s", ErrBadAttach, a.word, strings.Join(AttachKinds(), ", "))
	}
	set := a.attachers()
	switch {
	case a.None && len(set) == 0:
		return nil, nil
	case len(set) == 1 && !a.None:
		return set[0], nil
	case len(set) == 0:
		return nil, fmt.Errorf("%w: no attach kind given: write `attach: none` or one of %s", ErrBadAttach, strings.Join(AttachKinds(), ", "))
	default:
		var kinds []string
		for _, s := range set {
			kinds = append(kinds, s.kind())
		}
		return nil, fmt.Errorf("%w: %d attach kinds given (%s): give one kind per program", ErrBadAttach, len(kinds), strings.Join(kinds, ", "))
	}
}

// Validate checks that exactly one attach kind is given, or none.
func (a *Attach) Validate() error {
	_, err := a.resolve()
	return err
}

// Kind returns the attach kind's manifest key, "none", or "" if invalid.
func (a *Attach) Kind() string {
	at, err := a.resolve()
	switch {
	case err != nil:
		return ""
	case at == nil:
		return "none"
	}
	return at.kind()
}

// AttachKinds lists the manifest keys of every attach kind.
func AttachKinds() []string {
	var a Attach
	a.Tracepoint = new(TracepointAttach)
	a.RawTracepoint = new(RawTracepointAttach)
	a.Tracing, a.LSM, a.Kprobe, a.Uprobe = &TracingAttach{}, &LSMAttach{}, &KprobeAttach{}, &UprobeAttach{}
	a.XDP, a.TCX, a.Cgroup, a.SkLookup, a.Netfilter = &XDPAttach{}, &TCXAttach{}, &CgroupAttach{}, &SkLookupAttach{}, &NetfilterAttach{}
	var out []string
	for _, at := range a.attachers() {
		out = append(out, at.kind())
	}
	sort.Strings(out)
	return out
}

// typeIn returns an ErrAttachMismatch error unless spec's type is one of types.
func typeIn(kind string, spec *ebpf.ProgramSpec, types ...ebpf.ProgramType) error {
	for _, t := range types {
		if spec.Type == t {
			return nil
		}
	}
	var want []string
	for _, t := range types {
		want = append(want, TypeName(t))
	}
	return fmt.Errorf("%w: %s attaches %s programs, but ELF section %q makes this a %s program",
		ErrAttachMismatch, kind, strings.Join(want, "/"), spec.SectionName, TypeName(spec.Type))
}

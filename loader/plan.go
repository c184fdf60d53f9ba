package loader

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
)

// Program is one program to load, by its ELF function name, and where it
// attaches.
type Program struct {
	Name   string
	Attach Attach
}

// Request says what to load from an object held in memory.
type Request struct {
	// Object is the ELF file's bytes; they are parsed, never re-read.
	Object []byte
	// Programs are loaded and attached in this order. Programs of the
	// object not listed here are not loaded.
	Programs []Program
	// PinMaps names the maps to pin. Nil pins every map the programs use;
	// names not used by a listed program are created and pinned too.
	PinMaps []string
	// NoTargetCheck skips checking that attach targets exist, for plans
	// that are only inspected (a dry-run retargets them).
	NoTargetCheck bool
}

// Plan is a validated Request: the object's programs and maps reduced to
// what the request needs. It holds no kernel resources.
type Plan struct {
	spec     *ebpf.CollectionSpec
	programs []plannedProgram
	maps     []string // maps to create, sorted
	pinMaps  []string

	old       map[string]*oldLink // links to take over, by program (ReplaceFrom)
	replacing bool
}

type plannedProgram struct {
	name     string
	spec     *ebpf.ProgramSpec
	attacher attacher // nil for attach: none
	maps     []string // maps the program references
}

// ProgramInfo describes a planned program, for reports and policy checks.
type ProgramInfo struct {
	Name        string
	Type        string // bpftool-style program type name
	Section     string
	AttachKind  string // manifest attach kind, or "none"
	AttachPoint string // human-readable target
}

// Prepare parses req.Object and validates the request without any
// privilege or bpf() call: every program must exist in the object, its
// attach kind must fit its program type, and its target (interface,
// cgroup, binary, tracepoint) must exist.
//
//	plan, err := loader.Prepare(&loader.Request{Object: elfBytes,
//		Programs: []loader.Program{{Name: "count_openat", Attach: a}}})
func Prepare(req *Request) (*Plan, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(req.Object))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadObject, err)
	}
	if len(req.Programs) == 0 {
		return nil, fmt.Errorf("%w: no programs requested", ErrBadAttach)
	}
	p := &Plan{spec: spec}
	seen := map[string]bool{}
	used := map[string]bool{}
	for _, rp := range req.Programs {
		if seen[rp.Name] {
			return nil, &PrepareError{rp.Name, fmt.Errorf("%w: program %s is listed twice", ErrBadAttach, rp.Name)}
		}
		seen[rp.Name] = true
		ps, ok := spec.Programs[rp.Name]
		if !ok {
			return nil, &PrepareError{rp.Name, fmt.Errorf("%w (the object has: %s)", ErrNoProgram, strings.Join(sortedKeys(spec.Programs), ", "))}
		}
		at, err := rp.Attach.resolve()
		if err == nil && at != nil {
			if err = at.fits(ps); err == nil && !req.NoTargetCheck {
				err = at.check()
			}
		}
		if err != nil {
			return nil, &PrepareError{rp.Name, err}
		}
		refs := mapRefs(ps, spec)
		for _, m := range refs {
			used[m] = true
		}
		p.programs = append(p.programs, plannedProgram{name: rp.Name, spec: ps, attacher: at, maps: refs})
	}
	pin := req.PinMaps
	if pin == nil {
		pin = sortedKeys(used)
	}
	for _, name := range pin {
		if _, ok := spec.Maps[name]; !ok {
			return nil, fmt.Errorf("%w: %s (the object has: %s)", ErrNoMap, name, strings.Join(sortedKeys(spec.Maps), ", "))
		}
		used[name] = true
	}
	p.maps = sortedKeys(used)
	p.pinMaps = append([]string(nil), pin...)
	sort.Strings(p.pinMaps)
	for _, name := range p.maps {
		ms := spec.Maps[name]
		if ms.Type == ebpf.ProgramArray {
			for _, kv := range ms.Contents {
				if prog, ok := kv.Value.(string); ok && !seen[prog] {
					return nil, fmt.Errorf("map %s holds program %s, which is not listed in programs: list it (attach: none) to load it", name, prog)
				}
			}
		}
	}
	return p, nil
}

// Programs describes the planned programs in request order.
func (p *Plan) Programs() []ProgramInfo {
	var out []ProgramInfo
	for _, pp := range p.programs {
		info := ProgramInfo{Name: pp.name, Type: TypeName(pp.spec.Type), Section: pp.spec.SectionName, AttachKind: "none"}
		if pp.attacher != nil {
			info.AttachKind = pp.attacher.kind()
			info.AttachPoint = pp.attacher.target(pp.spec)
		}
		out = append(out, info)
	}
	return out
}

// Maps lists the maps the plan creates, sorted by name.
func (p *Plan) Maps() []string { return append([]string(nil), p.maps...) }

// MapType returns the map type of one planned map, such as "Array".
func (p *Plan) MapType(name string) string {
	if ms, ok := p.spec.Maps[name]; ok {
		return ms.Type.String()
	}
	return ""
}

// mapRefs lists the maps a program's instructions refer to, sorted.
func mapRefs(ps *ebpf.ProgramSpec, spec *ebpf.CollectionSpec) []string {
	set := map[string]bool{}
	for _, ins := range ps.Instructions {
		if !ins.IsLoadFromMap() {
			continue
		}
		if ref := ins.Reference(); ref != "" {
			if _, ok := spec.Maps[ref]; ok {
				set[ref] = true
			}
		}
	}
	return sortedKeys(set)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errMapName finds which map a cilium/ebpf collection error is about.
func errMapName(err error, names []string) string {
	msg := err.Error()
	for _, n := range names {
		if strings.HasPrefix(msg, "map "+n+":") || strings.Contains(msg, "map "+n+": ") {
			return n
		}
	}
	return ""
}

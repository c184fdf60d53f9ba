package loader

import (
	"bytes"
	"errors"
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
	// Constants set global variables (.rodata, .data, .bss) before load.
	Constants map[string]any
	// Maps size maps the object leaves open, or for this host. Maps
	// listed here are created even if no program uses them.
	Maps []MapSetting
	// PartialProgArrays leaves out of program arrays the programs not
	// requested, instead of refusing (dry-run trials without a blocked
	// program).
	PartialProgArrays bool
}

// MapSetting sizes one map.
type MapSetting struct {
	Name       string
	MaxEntries uint32 // 0 keeps the object's
	ValueSize  uint32 // 0 keeps the object's; only where the object has none
}

// ErrUnsizedMap is wrapped when a map would be created with no size.
var ErrUnsizedMap = errors.New("has no size")

// ErrMapSetting is wrapped by a map setting the object does not allow.
var ErrMapSetting = errors.New("invalid map setting")

// MapError names the map at fault in a Prepare error.
type MapError struct {
	Map string
	Err error
}

func (e *MapError) Error() string {
	if errors.Is(e.Err, ErrUnsizedMap) {
		return fmt.Sprintf("map %s %v", e.Map, e.Err) // "map stacks has no size: ..."
	}
	return fmt.Sprintf("map %s: %v", e.Map, e.Err)
}

func (e *MapError) Unwrap() error { return e.Err }

// Plan is a validated Request: the object's programs and maps reduced to
// what the request needs. It holds no kernel resources.
type Plan struct {
	spec     *ebpf.CollectionSpec
	programs []plannedProgram
	maps     []string // maps to create, sorted
	pinMaps  []string

	old      map[string]*oldLink // links to take over, by program (ReplaceFrom)
	replaced *Replaced
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
	if err := setConstants(spec, req.Constants); err != nil {
		return nil, err
	}
	for _, ms := range req.Maps {
		m, ok := spec.Maps[ms.Name]
		if !ok {
			return nil, &MapError{ms.Name, fmt.Errorf("%w (the object has: %s)", ErrNoMap, strings.Join(sortedKeys(spec.Maps), ", "))}
		}
		if ms.MaxEntries != 0 {
			m.MaxEntries = ms.MaxEntries
		}
		if ms.ValueSize != 0 {
			if m.ValueSize != 0 && m.ValueSize != ms.ValueSize {
				return nil, &MapError{ms.Name, fmt.Errorf("%w: the object already sets its value size to %d; valueSize applies only where the object leaves it open", ErrMapSetting, m.ValueSize)}
			}
			m.ValueSize = ms.ValueSize
			if m.Value != nil {
				m.Value = nil // the BTF value type no longer matches the size
			}
		}
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
	for _, ms := range req.Maps {
		used[ms.Name] = true
	}
	pin := req.PinMaps
	if pin == nil {
		// Data sections (.rodata, .bss) cannot be pinned: bpffs refuses
		// names with a dot.
		for _, name := range sortedKeys(used) {
			if !strings.Contains(name, ".") {
				pin = append(pin, name)
			}
		}
	}
	for _, name := range pin {
		if strings.Contains(name, ".") {
			return nil, &MapError{name, fmt.Errorf("%w: bpffs refuses names with a dot, so a data section cannot be pinned; set pin: false", ErrMapSetting)}
		}
		if _, ok := spec.Maps[name]; !ok {
			return nil, fmt.Errorf("%w: %s (the object has: %s)", ErrNoMap, name, strings.Join(sortedKeys(spec.Maps), ", "))
		}
		used[name] = true
	}
	p.maps = sortedKeys(used)
	for _, name := range p.maps {
		if err := sized(spec.Maps[name]); err != nil {
			return nil, &MapError{name, err}
		}
	}
	p.pinMaps = append([]string(nil), pin...)
	sort.Strings(p.pinMaps)
	for _, name := range p.maps {
		ms := spec.Maps[name]
		if ms.Type == ebpf.ProgramArray {
			for _, kv := range ms.Contents {
				if prog, ok := kv.Value.(string); ok && !seen[prog] && !req.PartialProgArrays {
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

// sized refuses a map the kernel would refuse for want of a size, before
// anything is loaded: libbpf-style objects leave stack-trace and ring
// buffer sizes to their loader.
func sized(ms *ebpf.MapSpec) error {
	switch ms.Type {
	case ebpf.PerfEventArray, ebpf.CGroupStorage, ebpf.PerCPUCGroupStorage, ebpf.SkStorage,
		ebpf.InodeStorage, ebpf.TaskStorage, ebpf.CgroupStorage, ebpf.StructOpsMap:
		return nil // sized by the kernel or by cilium/ebpf
	}
	if ms.MaxEntries == 0 {
		return fmt.Errorf("%w: set maps[].maxEntries (the object leaves max_entries open)", ErrUnsizedMap)
	}
	if ms.ValueSize == 0 && ms.Type != ebpf.RingBuf && ms.Type != ebpf.UserRingbuf && ms.Type != ebpf.Arena {
		return fmt.Errorf("%w: set maps[].valueSize (the object leaves value_size open)", ErrUnsizedMap)
	}
	return nil
}

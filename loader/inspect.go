package loader

import (
	"sort"
	"strings"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// bpfFZeroSeed is BPF_F_ZERO_SEED, a hash map flag only CAP_SYS_ADMIN may set.
const bpfFZeroSeed = 1 << 6

// ProgramFacts is what a program's instructions and maps tell about the
// privileges the verifier will ask for, read without loading anything.
type ProgramFacts struct {
	ProgramInfo
	Helpers    []string // helpers called, such as bpf_probe_read_kernel
	Kfuncs     []string // kernel functions called
	SubCalls   bool     // bpf-to-bpf calls or callbacks
	BackEdges  bool     // jumps backwards: loops
	Insns      int
	Maps       []MapFacts
	AttachType string // cilium/ebpf's attach type, such as TraceFEntry
}

// MapFacts describes one map a program uses.
type MapFacts struct {
	Name     string
	Type     string // cilium/ebpf map type name, such as LRUHash
	ZeroSeed bool   // BPF_F_ZERO_SEED
	Unsized  bool   // max_entries 0 (not a ring buffer or per-CPU type sized by the kernel)
}

// Facts inspects every planned program.
func (p *Plan) Facts() []ProgramFacts {
	infos := p.Programs()
	out := make([]ProgramFacts, 0, len(p.programs))
	for i, pp := range p.programs {
		f := ProgramFacts{ProgramInfo: infos[i], Insns: len(pp.spec.Instructions), AttachType: pp.spec.AttachType.String()}
		helpers, kfuncs := map[string]bool{}, map[string]bool{}
		for j := range pp.spec.Instructions {
			ins := &pp.spec.Instructions[j]
			switch {
			case ins.IsBuiltinCall():
				helpers[HelperName(asm.BuiltinFunc(ins.Constant))] = true
			case ins.IsKfuncCall():
				name := ins.Reference()
				if fn := btf.FuncMetadata(ins); fn != nil {
					name = fn.Name
				}
				kfuncs[name] = true
			case ins.IsFunctionReference():
				f.SubCalls = true
			case ins.OpCode.JumpOp() != asm.InvalidJumpOp && ins.OpCode.JumpOp() != asm.Call &&
				ins.OpCode.JumpOp() != asm.Exit && ins.Offset < 0:
				f.BackEdges = true
			}
		}
		f.Helpers, f.Kfuncs = sortedKeys(helpers), sortedKeys(kfuncs)
		for _, name := range pp.maps {
			ms := p.spec.Maps[name]
			f.Maps = append(f.Maps, MapFacts{Name: name, Type: ms.Type.String(), ZeroSeed: ms.Flags&bpfFZeroSeed != 0,
				Unsized: ms.MaxEntries == 0 && ms.Type != ebpf.PerfEventArray && ms.Type != ebpf.CGroupStorage && ms.Type != ebpf.PerCPUCGroupStorage})
		}
		sort.Slice(f.Maps, func(a, b int) bool { return f.Maps[a].Name < f.Maps[b].Name })
		out = append(out, f)
	}
	return out
}

// HelperName turns cilium/ebpf's FnProbeReadKernel into the kernel's
// bpf_probe_read_kernel, the name verifier messages use.
func HelperName(fn asm.BuiltinFunc) string {
	s := strings.TrimPrefix(fn.String(), "Fn")
	var b strings.Builder
	b.WriteString("bpf")
	for i, r := range s {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && !unicode.IsUpper(rune(s[i-1]))
			nextLower := i+1 < len(s) && unicode.IsLower(rune(s[i+1]))
			if i == 0 || prevLower || nextLower {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

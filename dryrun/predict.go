package dryrun

import (
	"fmt"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/rules"
)

// Need is one capability a program needs, with the phase that checks it
// and why.
type Need struct {
	Capability string `json:"capability"`
	Phase      string `json:"phase"` // load, map, attach
	Reason     string `json:"reason"`
}

// destructiveKfuncs are the KF_DESTRUCTIVE kfuncs in the kernel tree.
var destructiveKfuncs = map[string]bool{"crash_kexec": true, "bpf_kfunc_call_test_destructive": true}

// Predict lists, per program, what the rules table says it needs.
func Predict(facts []loader.ProgramFacts, t *rules.Table) map[string][]Need {
	out := map[string][]Need{}
	for _, f := range facts {
		var needs []Need
		add := func(names []string, phase, reason string) {
			for _, n := range names {
				needs = append(needs, Need{Capability: n, Phase: phase, Reason: reason})
			}
		}
		add(t.Baseline.Capabilities, "load", "every object with BTF needs CAP_BPF to load it (BPF_BTF_LOAD), and kernel.unprivileged_bpf_disabled gates BPF_PROG_LOAD")
		if r, ok := t.Program(f.Type); ok {
			for _, c := range r.Load {
				if c != "CAP_BPF" {
					add([]string{c}, "load", fmt.Sprintf("%s programs need %s to load", f.Type, c))
				}
			}
		}
		for _, h := range f.Helpers {
			if r, ok := t.Helper(h); ok {
				for _, c := range r.Capabilities {
					add([]string{c}, "load", fmt.Sprintf("calls %s, a helper the verifier grants only with %s", h, c))
				}
			}
		}
		for _, k := range f.Kfuncs {
			add([]string{"CAP_BPF"}, "load", "calls kfunc "+k+"; kfunc calls need CAP_BPF")
			if destructiveKfuncs[k] {
				add([]string{"CAP_SYS_BOOT"}, "load", "calls destructive kfunc "+k+", which needs CAP_SYS_BOOT")
			}
		}
		if f.SubCalls {
			add([]string{"CAP_BPF"}, "load", "has bpf-to-bpf calls or callbacks, which need CAP_BPF")
		}
		if f.BackEdges {
			add([]string{"CAP_BPF"}, "load", "has loops, which need CAP_BPF")
			add([]string{"CAP_PERFMON"}, "load", "has loops: without CAP_PERFMON the verifier also explores speculative paths and usually gives up")
		}
		for _, m := range f.Maps {
			if r, ok := t.Map(m.Type); ok {
				for _, c := range r.Create {
					if c != "CAP_BPF" {
						add([]string{c}, "map", fmt.Sprintf("map %s is a %s map, which needs %s to create", m.Name, m.Type, c))
					}
				}
			}
			if m.ZeroSeed {
				add([]string{"CAP_SYS_ADMIN"}, "map", fmt.Sprintf("map %s sets BPF_F_ZERO_SEED, which needs CAP_SYS_ADMIN", m.Name))
			}
			if m.Type == "Arena" {
				add([]string{"CAP_PERFMON"}, "load", "uses arena map "+m.Name+", which the verifier allows only with CAP_BPF and CAP_PERFMON")
			}
		}
		if r, ok := t.AttachFor(f.AttachKind, f.Type, f.Section); ok {
			for _, c := range r.Capabilities {
				add([]string{c}, "attach", fmt.Sprintf("%s: Linux checks %s", r.Operation, c))
			}
		}
		out[f.Name] = dedupe(needs)
	}
	return out
}

func dedupe(needs []Need) []Need {
	seen := map[string]bool{}
	var out []Need
	for _, n := range needs {
		k := n.Capability + "/" + n.Phase + "/" + n.Reason
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

// union is the set of all needs, normalised: CAP_SYS_ADMIN passes every
// CAP_BPF and CAP_PERFMON check, so with it those two are dropped.
func union(needs map[string][]Need) caps.Set {
	var s caps.Set
	for _, ns := range needs {
		for _, n := range ns {
			c, err := caps.Parse([]string{n.Capability})
			if err == nil {
				s |= c
			}
		}
	}
	return normalise(s)
}

var (
	capBPF      = mustParse("CAP_BPF")
	capPerfmon  = mustParse("CAP_PERFMON")
	capSysAdmin = mustParse("CAP_SYS_ADMIN")
)

func mustParse(names ...string) caps.Set {
	s, err := caps.Parse(names)
	if err != nil {
		panic(err)
	}
	return s
}

func normalise(s caps.Set) caps.Set {
	if s.Has(capSysAdmin) {
		return s.Minus(capBPF | capPerfmon)
	}
	return s
}

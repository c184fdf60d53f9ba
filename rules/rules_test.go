package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/loader"
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

func TestTableLoads(t *testing.T) {
	tab, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Kernel == "" || len(tab.ProgramTypes) == 0 || len(tab.MapTypes) == 0 || len(tab.Helpers) == 0 || len(tab.Verifier) == 0 {
		t.Fatalf("table is missing sections: %+v", tab)
	}
}

// Every capability named in the table is a real one, and every row cites
// its evidence and the kernel it holds since.
func TestRowsAreWellFormed(t *testing.T) {
	tab := MustLoad()
	check := func(where string, names []string, evidence, since string) {
		if _, err := caps.Parse(names); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		if evidence == "" || since == "" {
			t.Errorf("%s: evidence and since are required", where)
		}
	}
	check("baseline", tab.Baseline.Capabilities, tab.Baseline.Evidence, tab.Baseline.Since)
	for _, r := range tab.ProgramTypes {
		check("programTypes "+strings.Join(r.Types, ","), r.Load, r.Evidence, r.Since)
	}
	for _, r := range tab.MapTypes {
		check("mapTypes "+strings.Join(r.Types, ","), r.Create, r.Evidence, r.Since)
	}
	for _, r := range tab.Attach {
		check("attach "+r.Kind, r.Capabilities, r.Evidence, r.Since)
		if r.Operation == "" {
			t.Errorf("attach %s: operation is required", r.Kind)
		}
	}
	for _, r := range tab.Helpers {
		check("helpers", r.Capabilities, r.Evidence, r.Since)
	}
	for _, r := range tab.Verifier {
		if !r.Helper {
			if _, err := caps.Parse(r.Capabilities); err != nil || len(r.Capabilities) == 0 {
				t.Errorf("verifier %q: capabilities %v: %v", r.Match, r.Capabilities, err)
			}
		}
	}
}

// Every program type the loader knows has exactly one load rule.
func TestEveryProgramTypeHasOneRule(t *testing.T) {
	tab := MustLoad()
	known := loader.ProgramTypeNames()
	for _, typ := range known {
		n := 0
		for _, r := range tab.ProgramTypes {
			if slices.Contains(r.Types, typ) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("program type %s has %d rules, want 1", typ, n)
		}
	}
	for _, r := range tab.ProgramTypes {
		for _, typ := range r.Types {
			if !slices.Contains(known, typ) {
				t.Errorf("rule names unknown program type %q", typ)
			}
		}
	}
}

// Map type names are cilium/ebpf's, and each has exactly one rule.
func TestEveryMapTypeHasOneRule(t *testing.T) {
	tab := MustLoad()
	var known []string
	for mt := ebpf.Hash; mt <= ebpf.Arena; mt++ {
		known = append(known, mt.String())
	}
	for _, name := range known {
		n := 0
		for _, r := range tab.MapTypes {
			if slices.Contains(r.Types, name) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("map type %s has %d rules, want 1", name, n)
		}
	}
	for _, r := range tab.MapTypes {
		for _, name := range r.Types {
			if !slices.Contains(known, name) {
				t.Errorf("rule names unknown map type %q", name)
			}
		}
	}
}

// Every attach kind of the loader has a rule, and "none" too.
func TestEveryAttachKindHasARule(t *testing.T) {
	tab := MustLoad()
	for _, k := range append(loader.AttachKinds(), "none") {
		if _, ok := tab.AttachFor(k, "", ""); !ok {
			if k == "uprobe" {
				continue // rows by section only
			}
			t.Errorf("attach kind %s has no rule", k)
		}
	}
	if r, _ := tab.AttachFor("cgroup", "cgroup_skb", ""); !slices.Equal(r.Capabilities, []string{"CAP_NET_ADMIN"}) {
		t.Errorf("cgroup_skb attach: %v", r.Capabilities)
	}
	if r, _ := tab.AttachFor("cgroup", "cgroup_sock_addr", ""); len(r.Capabilities) != 0 {
		t.Errorf("cgroup_sock_addr attach: %v", r.Capabilities)
	}
	if r, ok := tab.AttachFor("uprobe", "kprobe", "uprobe"); !ok || !slices.Equal(r.Capabilities, []string{"CAP_SYS_ADMIN"}) {
		t.Errorf("uprobe PMU: %v", r.Capabilities)
	}
	if r, ok := tab.AttachFor("uprobe", "kprobe", "uprobe.multi"); !ok || len(r.Capabilities) != 0 {
		t.Errorf("uprobe_multi: %v %v", r.Capabilities, ok)
	}
}

// Helper names are real: each matches one of cilium/ebpf's builtin
// functions (FnProbeReadKernel is bpf_probe_read_kernel).
func TestHelperNamesAreReal(t *testing.T) {
	real := map[string]bool{}
	for fn := asm.BuiltinFunc(1); fn < 256; fn++ {
		if !strings.HasPrefix(fn.String(), "Fn") {
			continue
		}
		real[loader.HelperName(fn)] = true
	}
	if !real["bpf_probe_read_kernel"] || !real["bpf_get_current_pid_tgid"] {
		t.Fatalf("name conversion is broken: %d names", len(real))
	}
	for _, r := range MustLoad().Helpers {
		for _, n := range r.Names {
			if !real[n] {
				t.Errorf("helper %s is not a BPF helper", n)
			}
		}
	}
}

func TestMatchVerifier(t *testing.T) {
	tab := MustLoad()
	m, ok := tab.MatchVerifier([]string{"0: (85) call bpf_ktime_get_ns#5", "program of this type cannot use helper bpf_send_signal#109", "processed 2 insns"})
	if !ok || m.Helper != "bpf_send_signal" || !slices.Equal(m.Capabilities, []string{"CAP_PERFMON"}) {
		t.Errorf("helper match %+v %v", m, ok)
	}
	if _, ok := tab.MatchVerifier([]string{"program of this type cannot use helper bpf_skb_store_bytes#9"}); ok {
		t.Error("a helper with no rule must not match: it is a type mismatch, not a privilege")
	}
	m, ok = tab.MatchVerifier([]string{"back-edge from insn 2 to 1"})
	if !ok || !slices.Equal(m.Capabilities, []string{"CAP_BPF"}) {
		t.Errorf("back-edge: %+v", m)
	}
	if _, ok := tab.MatchVerifier([]string{"R0 invalid mem access 'scalar'"}); ok {
		t.Error("a plain verifier error must not match")
	}
}

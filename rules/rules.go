// Package rules holds, as data, which Linux capability the kernel checks
// for each eBPF operation: loading a program type, creating a map type,
// calling a helper, attaching a kind. The table lives in caprules.yaml
// beside this file, with the kernel-source evidence for every row, and is
// checked against cilium/ebpf's type names by the unit tests and against
// the running kernel by the e2e tests.
package rules

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
)

//go:embed caprules.yaml
var data []byte

// Table is the decoded rules table.
type Table struct {
	Kernel       string         `yaml:"kernel"`
	Baseline     Baseline       `yaml:"baseline"`
	ProgramTypes []ProgRule     `yaml:"programTypes"`
	MapTypes     []MapRule      `yaml:"mapTypes"`
	Attach       []AttachRule   `yaml:"attach"`
	Helpers      []HelperRule   `yaml:"helpers"`
	Verifier     []VerifierRule `yaml:"verifier"`
}

// VerifierRule maps a verifier log line to the privilege it lacked.
type VerifierRule struct {
	Match        string   `yaml:"match"`
	Helper       bool     `yaml:"helper"` // group 1 names a helper
	Capabilities []string `yaml:"capabilities"`
	Reason       string   `yaml:"reason"`
	// Hint marks a rule that suggests rather than proves a capability.
	Hint bool `yaml:"hint"`
	re   *regexp.Regexp
}

// VerifierMatch is a log line that a VerifierRule recognised.
type VerifierMatch struct {
	Line         string
	Rule         VerifierRule
	Helper       string   // helper name, for helper rules
	Capabilities []string // what the line says was missing
	Reason       string
}

// MatchVerifier finds the first log line, from the end, that a rule
// recognises. Helper lines resolve to the helper's own rule; a helper
// with no rule gives no match (the program type cannot use it at all).
func (t *Table) MatchVerifier(log []string) (VerifierMatch, bool) {
	for i := len(log) - 1; i >= 0; i-- {
		for _, r := range t.Verifier {
			m := r.re.FindStringSubmatch(log[i])
			if m == nil {
				continue
			}
			vm := VerifierMatch{Line: log[i], Rule: r, Capabilities: r.Capabilities, Reason: r.Reason}
			if r.Helper {
				h, ok := t.Helper(m[1])
				if !ok {
					return VerifierMatch{}, false
				}
				vm.Helper, vm.Capabilities = m[1], h.Capabilities
				vm.Reason = fmt.Sprintf("calls %s, a helper the verifier grants only with %s (%s)", m[1], strings.Join(h.Capabilities, " and "), h.Evidence)
			}
			return vm, true
		}
	}
	return VerifierMatch{}, false
}

// Baseline is what every load needs whatever its contents.
type Baseline struct {
	Capabilities []string `yaml:"capabilities"`
	Evidence     string   `yaml:"evidence"`
	Since        string   `yaml:"since"`
}

// ProgRule gives the capabilities BPF_PROG_LOAD checks for program types.
type ProgRule struct {
	Types    []string `yaml:"types"`
	Load     []string `yaml:"load"`
	Evidence string   `yaml:"evidence"`
	Note     string   `yaml:"note"`
	Since    string   `yaml:"since"`
}

// MapRule gives the capabilities BPF_MAP_CREATE checks for map types.
type MapRule struct {
	Types    []string `yaml:"types"`
	Create   []string `yaml:"create"`
	Evidence string   `yaml:"evidence"`
	Since    string   `yaml:"since"`
}

// AttachRule gives the capabilities checked when attaching one way.
type AttachRule struct {
	Kind         string   `yaml:"kind"`
	ProgramTypes []string `yaml:"programTypes"` // empty: any type
	Sections     []string `yaml:"sections"`     // empty: any ELF section
	Capabilities []string `yaml:"capabilities"`
	Operation    string   `yaml:"operation"`
	Evidence     string   `yaml:"evidence"`
	Since        string   `yaml:"since"`
}

// HelperRule gives the capability the verifier needs to grant helpers.
type HelperRule struct {
	Capabilities []string `yaml:"capabilities"`
	Names        []string `yaml:"names"`
	Evidence     string   `yaml:"evidence"`
	Since        string   `yaml:"since"`
}

var (
	once  sync.Once
	table *Table
	err   error
)

// Load returns the embedded table, decoded once.
func Load() (*Table, error) {
	once.Do(func() {
		var t Table
		if e := yaml.UnmarshalWithOptions(data, &t, yaml.Strict()); e != nil {
			err = fmt.Errorf("rules table: %w", e)
			return
		}
		for i := range t.Verifier {
			re, e := regexp.Compile(t.Verifier[i].Match)
			if e != nil {
				err = fmt.Errorf("rules table: verifier[%d]: %w", i, e)
				return
			}
			t.Verifier[i].re = re
		}
		table = &t
	})
	return table, err
}

// MustLoad is Load for callers that run after the table's own tests.
func MustLoad() *Table {
	t, err := Load()
	if err != nil {
		panic(err)
	}
	return t
}

// Program returns the rule for a program type name, such as "tracepoint".
func (t *Table) Program(typ string) (ProgRule, bool) {
	for _, r := range t.ProgramTypes {
		if slices.Contains(r.Types, typ) {
			return r, true
		}
	}
	return ProgRule{}, false
}

// Map returns the rule for a cilium/ebpf map type name, such as "LRUHash".
func (t *Table) Map(typ string) (MapRule, bool) {
	for _, r := range t.MapTypes {
		if slices.Contains(r.Types, typ) {
			return r, true
		}
	}
	return MapRule{}, false
}

// AttachFor returns the rule for attaching a program of type progType, in
// ELF section section, the way kind says. The most specific row wins.
func (t *Table) AttachFor(kind, progType, section string) (AttachRule, bool) {
	var best AttachRule
	bestScore := -1
	for _, r := range t.Attach {
		if r.Kind != kind {
			continue
		}
		score := 0
		if len(r.ProgramTypes) > 0 {
			if !slices.Contains(r.ProgramTypes, progType) {
				continue
			}
			score++
		}
		if len(r.Sections) > 0 {
			if !sectionMatches(r.Sections, section) {
				continue
			}
			score++
		}
		if score > bestScore {
			best, bestScore = r, score
		}
	}
	return best, bestScore >= 0
}

func sectionMatches(patterns []string, section string) bool {
	for _, p := range patterns {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(section, p) || section == p {
			return true
		}
	}
	return false
}

// Helper returns the rule for a helper by name, such as
// "bpf_probe_read_kernel"; helpers with no rule need only what their
// program type needs.
func (t *Table) Helper(name string) (HelperRule, bool) {
	for _, r := range t.Helpers {
		if slices.Contains(r.Names, name) {
			return r, true
		}
	}
	return HelperRule{}, false
}

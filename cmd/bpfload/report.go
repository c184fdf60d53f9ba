package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/policy"
	"github.com/bpfload/bpfload/state"
)

// loadReport is what load prints; its JSON form is a contract.
type loadReport struct {
	Name         string          `json:"name"`
	Version      int64           `json:"version"`
	Manifest     string          `json:"manifest"`
	PinDir       string          `json:"pin_dir"`
	Programs     []programReport `json:"programs"`
	Maps         []mapReport     `json:"maps"`
	Capabilities capReport       `json:"capabilities"`
	// PassedFDs maps map names to the descriptors exec hands the workload.
	PassedFDs map[string]int `json:"passed_fds,omitempty"`
}

type programReport struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	ID      uint32 `json:"id"`
	Tag     string `json:"tag"`
	Attach  string `json:"attach"`
	Pin     string `json:"pin"`
	LinkPin string `json:"link_pin,omitempty"`
	Replace string `json:"replace,omitempty"`
}

type mapReport struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Pin  string `json:"pin,omitempty"`
}

// capReport holds the sets observed in /proc, not copied from the manifest.
type capReport struct {
	Manifest   []string `json:"manifest"`
	DuringLoad []string `json:"during_load"`
	AfterDrop  []string `json:"after_drop"`
	// Reserved stays permitted, never effective, for exec's last step.
	Reserved []string `json:"reserved,omitempty"`
	// Threads is how many threads were read each time.
	ThreadsDuring int `json:"threads_checked_during_load"`
	ThreadsAfter  int `json:"threads_checked_after_drop"`
}

func newLoadReport(m *policy.Manifest, l *state.Load, during, after caps.Thread, reserve caps.Set) *loadReport {
	r := &loadReport{Name: m.Name, Version: m.Version, Manifest: l.Manifest, PinDir: l.PinDir,
		Programs: programReports(l), Maps: mapReports(l),
		Capabilities: capReport{
			Manifest:      m.Caps.Names(),
			DuringLoad:    during.Effective.Names(),
			AfterDrop:     (after.Effective | after.Permitted.Minus(reserve) | after.Inheritable | after.Ambient).Names(),
			Reserved:      (after.Permitted & reserve).Names(),
			ThreadsDuring: during.TID, ThreadsAfter: after.TID,
		}}
	return r
}

func programReports(l *state.Load) []programReport {
	out := []programReport{}
	for _, p := range l.Programs {
		out = append(out, programReport(p))
	}
	return out
}

func mapReports(l *state.Load) []mapReport {
	out := []mapReport{}
	for _, mp := range l.Maps {
		out = append(out, mapReport(mp))
	}
	return out
}

func (r *loadReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "loaded %s version %d, pinned in %s\n\n", r.Name, r.Version, r.PinDir)
	writePrograms(w, r.Programs)
	for _, p := range r.Programs {
		if p.Replace != "" {
			fmt.Fprintf(w, "replaced %s: %s\n", p.Name, p.Replace)
		}
	}
	writeMaps(w, r.Maps)
	fmt.Fprintf(w, "\ncapabilities (read from /proc/self/task/*/status):\n")
	fmt.Fprintf(w, "  manifest:     %s\n", list(r.Capabilities.Manifest))
	same := "effective = permitted = inheritable = ambient"
	if len(r.Capabilities.Reserved) > 0 {
		same = "effective = inheritable = ambient; permitted adds the reserve below"
	}
	fmt.Fprintf(w, "  during load:  %s (%s on all %d threads)\n", list(r.Capabilities.DuringLoad), same, r.Capabilities.ThreadsDuring)
	fmt.Fprintf(w, "  after drop:   %s (all %d threads)\n", list(r.Capabilities.AfterDrop), r.Capabilities.ThreadsAfter)
	if len(r.Capabilities.Reserved) > 0 {
		fmt.Fprintf(w, "  reserved:     %s (permitted only, never effective; cleared before the workload runs)\n", list(r.Capabilities.Reserved))
	}
}

func writePrograms(w io.Writer, progs []programReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROGRAM\tTYPE\tID\tTAG\tATTACH\tPIN")
	for _, p := range progs {
		pin := p.Pin
		if p.LinkPin != "" {
			pin = p.LinkPin
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", p.Name, p.Type, p.ID, p.Tag, p.Attach, pin)
	}
	tw.Flush()
}

func writeMaps(w io.Writer, maps []mapReport) {
	if len(maps) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAP\tTYPE\tID\tPIN")
	for _, mp := range maps {
		pin := mp.Pin
		if pin == "" {
			pin = "(not pinned)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", mp.Name, mp.Type, mp.ID, pin)
	}
	tw.Flush()
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := names[0]
	for _, n := range names[1:] {
		s += ", " + n
	}
	return s
}

// timeJSON prints times in RFC 3339, UTC.
type timeJSON struct{ time.Time }

func (t timeJSON) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

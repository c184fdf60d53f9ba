package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/state"
	"github.com/cilium/ebpf"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var errNotEmpty = unix.ENOTEMPTY

func listCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list what bpfload has loaded, from the state directory",
		Action: func(c *cli.Context) error {
			if err := setup(c, out, 0, "none"); err != nil {
				return err
			}
			items, err := loadedItems(c.String("state-dir"))
			if err != nil {
				return err
			}
			if out.format == "json" {
				return writeJSON(c.App.Writer, items)
			}
			if len(items) == 0 {
				fmt.Fprintln(c.App.Writer, "nothing loaded")
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tPROGRAMS\tSTATUS\tPIN DIR\tLOADED")
			for _, it := range items {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", it.Name, it.Version, len(it.Programs), it.Status, it.PinDir, it.LoadedAt.Format("2006-01-02 15:04:05Z"))
			}
			return tw.Flush()
		},
	}
}

func statusCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show one loaded manifest: programs, attach points, pins, and whether they are still there",
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			if err := setup(c, out, 1, "NAME"); err != nil {
				return err
			}
			name, err := nameArg(c.Args().First())
			if err != nil {
				return err
			}
			items, err := loadedItems(c.String("state-dir"))
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.Name != name {
					continue
				}
				if out.format == "json" {
					return writeJSON(c.App.Writer, it)
				}
				w := c.App.Writer
				fmt.Fprintf(w, "%s version %d: %s\n  manifest: %s\n  pinned in: %s\n  loaded at: %s\n  capabilities granted while loading: %s\n\n",
					it.Name, it.Version, it.Status, it.Manifest, it.PinDir, it.LoadedAt.Format("2006-01-02 15:04:05Z"), list(it.Capabilities))
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PROGRAM\tTYPE\tID\tATTACH\tSTATE")
				for _, p := range it.Programs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", p.Name, p.Type, p.ID, p.Attach, p.State)
				}
				tw.Flush()
				writeMaps(w, it.Maps)
				return nil
			}
			return diag.New(diag.ENotLoaded, "%s is not loaded", name).With("see what is loaded: bpfload list")
		},
	}
}

// loadedItem is one entry of list and status; its JSON form is a contract.
type loadedItem struct {
	Name         string          `json:"name"`
	Version      int64           `json:"version"`
	Manifest     string          `json:"manifest"`
	PinDir       string          `json:"pin_dir"`
	Status       string          `json:"status"` // ok, or what is missing
	LoadedAt     timeJSON        `json:"loaded_at"`
	Capabilities []string        `json:"capabilities"`
	Programs     []programStatus `json:"programs"`
	Maps         []mapReport     `json:"maps"`
}

type programStatus struct {
	programReport
	// State is "attached", "loaded" (attach: none), or what is missing.
	State string `json:"state"`
}

func loadedItems(stateDir string) ([]loadedItem, error) {
	st, err := state.Open(stateDir, false)
	if errors.Is(err, os.ErrNotExist) {
		return []loadedItem{}, nil
	}
	if err != nil {
		return nil, diag.Wrap(diag.EState, err)
	}
	recs, err := st.List()
	if err != nil {
		return nil, diag.Wrap(diag.EState, err)
	}
	items := []loadedItem{}
	for _, r := range recs {
		if r.Loaded == nil {
			continue
		}
		l := r.Loaded
		it := loadedItem{Name: r.Name, Version: l.Version, Manifest: l.Manifest, PinDir: l.PinDir, Status: "ok",
			LoadedAt: timeJSON{l.LoadedAt}, Capabilities: l.Capabilities, Maps: mapReports(l)}
		for _, p := range l.Programs {
			ps := programStatus{programReport: programReport(p), State: pinState(p)}
			if ps.State != "attached" && ps.State != "loaded" {
				it.Status = "degraded"
			}
			it.Programs = append(it.Programs, ps)
		}
		items = append(items, it)
	}
	return items, nil
}

// pinState checks that a program's pins are still there and name the
// program that was loaded.
func pinState(p state.Program) string {
	prog, err := ebpf.LoadPinnedProgram(p.Pin, &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		return "program pin missing or unreadable: " + err.Error()
	}
	defer prog.Close()
	if info, err := prog.Info(); err == nil {
		if id, ok := info.ID(); ok && uint32(id) != p.ID {
			return fmt.Sprintf("pin now holds program %d, not %d", id, p.ID)
		}
	}
	if p.LinkPin == "" {
		return "loaded"
	}
	if _, err := os.Lstat(p.LinkPin); err != nil {
		return "link pin missing: not attached"
	}
	return "attached"
}

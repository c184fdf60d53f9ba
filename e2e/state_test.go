package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

const switchManifest = `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`

type listItem struct {
	Name         string   `json:"name"`
	Version      int64    `json:"version"`
	Manifest     string   `json:"manifest"`
	PinDir       string   `json:"pin_dir"`
	Status       string   `json:"status"`
	Capabilities []string `json:"capabilities"`
	Programs     []struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		Attach  string `json:"attach"`
		LinkPin string `json:"link_pin"`
		State   string `json:"state"`
	} `json:"programs"`
}

func (e *env) list() []listItem {
	e.t.Helper()
	r := e.run("list", "--output", "json")
	if r.code != 0 {
		e.t.Fatalf("list: exit %d\n%s", r.code, r.stderr)
	}
	var items []listItem
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		e.t.Fatalf("list output: %v\n%s", err, r.stdout)
	}
	return items
}

func (e *env) mustUnload(arg string) {
	e.t.Helper()
	if r := e.run("unload", arg); r.code != 0 {
		e.t.Fatalf("unload %s: exit %d\nstdout: %s\nstderr: %s", arg, r.code, r.stdout, r.stderr)
	}
}

// list --output json shows what was loaded, from the record, with each
// program's pins checked.
func TestListJSON(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	if items := e.list(); len(items) != 0 {
		t.Fatalf("list before any load: %+v", items)
	}
	e.mustLoad(m)
	items := e.list()
	if len(items) != 1 {
		t.Fatalf("list: %+v, want one item", items)
	}
	it := items[0]
	if it.Name != "switches" || it.Version != 1 || it.Manifest != m || it.Status != "ok" ||
		it.PinDir != filepath.Join(e.pinRoot, "switches") || !slices.Equal(it.Capabilities, []string{"CAP_BPF", "CAP_PERFMON"}) {
		t.Errorf("list item: %+v", it)
	}
	if len(it.Programs) != 1 || it.Programs[0].Name != "on_switch" || it.Programs[0].State != "attached" ||
		it.Programs[0].Type != "raw_tracepoint" || it.Programs[0].Attach != "raw_tracepoint sched_switch" {
		t.Errorf("list programs: %+v", it.Programs)
	}
	e.mustUnload("switches")
	if items := e.list(); len(items) != 0 {
		t.Errorf("list after unload: %+v", items)
	}
	e.assertNothingLoaded()
}

// Loading a name that is loaded fails and leaves the loaded one as it was.
func TestLoadTwiceRefused(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	first := e.mustLoad(m)
	r := e.run("load", "--allow-unsigned", m)
	wantFailure(t, r, 7, "BPFLOAD-E060", "already loaded")

	items := e.list()
	if len(items) != 1 || items[0].Status != "ok" {
		t.Fatalf("after the refused load: %+v", items)
	}
	p, err := ebpf.LoadPinnedProgram(first.Programs[0].Pin, nil)
	if err != nil {
		t.Fatalf("first load's program pin: %v", err)
	}
	info, err := p.Info()
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := info.ID(); uint32(id) != first.Programs[0].ID {
		t.Errorf("pin holds program %d, first load made %d", id, first.Programs[0].ID)
	}
	pin := filepath.Join(e.pinRoot, "switches", "maps", "switches")
	waitCounter(t, pin, counter(t, pin)+1)
	e.mustUnload("switches")
	e.assertNothingLoaded()
}

// unload takes a manifest name or a manifest file.
func TestUnloadByNameAndByManifest(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	e.mustLoad(m)
	e.mustUnload("switches")
	e.assertNothingLoaded()

	e.mustLoad(m)
	e.mustUnload(m)
	e.assertNothingLoaded()
	if items := e.list(); len(items) != 0 {
		t.Errorf("list after unload: %+v", items)
	}
}

func TestUnloadUnknownName(t *testing.T) {
	e := newEnv(t)
	r := e.run("unload", "never-loaded")
	wantFailure(t, r, 7, "BPFLOAD-E062", "never-loaded")
}

// A pin directory that bpfload has no record of is not bpfload's to
// remove, even under its pin root.
func TestUnloadRefusesForeignPinDir(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(e.pinRoot, "foreign")
	if err := os.MkdirAll(filepath.Join(dir, "maps"), 0o755); err != nil {
		t.Fatal(err)
	}
	mp, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(dir, "maps", "theirs")
	err = mp.Pin(pin)
	mp.Close()
	if err != nil {
		t.Fatal(err)
	}

	r := e.run("unload", "foreign")
	wantFailure(t, r, 7, "BPFLOAD-E063", dir)
	if _, err := os.Stat(pin); err != nil {
		t.Errorf("unload removed what it did not create: %v", err)
	}
}

// Two bpfload processes load the same manifest at once: the pin root lock
// lets exactly one through; the other sees it loaded or the lock taken.
func TestConcurrentLoadsOneWins(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	for round := 0; round < 8; round++ {
		var cmds [2]*exec.Cmd
		var outs [2]strings.Builder
		for i := range cmds {
			cmds[i] = exec.Command(bin, "load", "--pin-root", e.pinRoot, "--state-dir", e.stateDir, "--allow-unsigned", m)
			cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		var codes [2]int
		for i, c := range cmds {
			err := c.Wait()
			if ee, ok := err.(*exec.ExitError); ok {
				codes[i] = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
		}
		ok, lost := -1, -1
		for i, c := range codes {
			switch {
			case c == 0 && ok < 0:
				ok = i
			case c == 7 && (strings.Contains(outs[i].String(), "BPFLOAD-E060") || strings.Contains(outs[i].String(), "BPFLOAD-E061")):
				lost = i
			}
		}
		if ok < 0 || lost < 0 {
			t.Fatalf("round %d: exits %v, want one 0 and one 7 (E060/E061)\nfirst:\n%s\nsecond:\n%s", round, codes, outs[0].String(), outs[1].String())
		}
		if items := e.list(); len(items) != 1 || items[0].Status != "ok" {
			t.Fatalf("round %d: list %+v", round, items)
		}
		e.mustUnload("switches")
		e.assertNothingLoaded()
	}
}

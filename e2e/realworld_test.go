package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// A const volatile pid filter set through constants: only the test
// process shows up in the result map, while other processes make the same
// syscall.
func TestConstantPidFilter(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "pidfilter", "rw_filter.bpf.o", fmt.Sprintf(`
capabilities: [CAP_BPF, CAP_PERFMON]
constants:
  targ_tgid: %d
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`, os.Getpid()))
	e.mustLoad(m)
	for i := 0; i < 5; i++ {
		if err := exec.Command("cat", "/etc/hostname").Run(); err != nil {
			t.Fatal(err)
		}
		if f, err := os.Open("/etc/hostname"); err == nil {
			f.Close()
		}
	}
	mp, err := ebpf.LoadPinnedMap(filepath.Join(e.pinRoot, "pidfilter", "maps", "opens_by_tgid"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var key uint32
		var val uint64
		keys := map[uint32]uint64{}
		it := mp.Iterate()
		for it.Next(&key, &val) {
			keys[key] = val
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		for k := range keys {
			if k != uint32(os.Getpid()) {
				t.Fatalf("pid %d shows up, but the filter is %d: %v", k, os.Getpid(), keys)
			}
		}
		if keys[uint32(os.Getpid())] >= 5 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test's own opens were not counted: %v", keys)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A stack-trace map the object leaves unsized fails clearly before
// anything loads, and loads once the manifest sizes it.
func TestUnsizedStackMap(t *testing.T) {
	e := newEnv(t)
	body := `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: stack_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`
	m := e.manifest("m.yaml", "stacks", "rw_filter.bpf.o", body)
	r := e.mustFail(m, 5, "BPFLOAD-E041")
	for _, want := range []string{"map stacks", "has no size", "maxEntries"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "CAP_") || strings.Contains(r.stderr, "permission") {
		t.Errorf("an unsized map is reported as a permission problem:\n%s", r.stderr)
	}
	dry := e.runRaw(exec.Command(bin, "--dry-run", m))
	if dry.code == 0 || !strings.Contains(dry.stderr, "map stacks") || !strings.Contains(dry.stderr, "maxEntries") {
		t.Errorf("dry-run of the unsized map: exit %d\n%s", dry.code, dry.stderr)
	}
	m = e.manifest("m2.yaml", "stacks", "rw_filter.bpf.o", body+`maps:
  - name: stacks
    maxEntries: 1024
    valueSize: 1016
`)
	rep := e.mustLoad(m)
	if len(rep.Maps) != 1 || rep.Maps[0].Name != "stacks" || rep.Maps[0].Pin == "" {
		t.Errorf("maps %+v", rep.Maps)
	}
	if r := e.runRaw(exec.Command(bin, "--dry-run", m)); r.code != 0 {
		t.Errorf("dry-run of the sized manifest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Constant type errors are refused before anything loads, with the line.
func TestConstantTypeErrors(t *testing.T) {
	e := newEnv(t)
	for i, c := range []struct{ line, want string }{
		{"targ_tgid: 4294967296", "does not fit int"},
		{"filter_failed: 1", "write true or false"},
		{"comm_prefix: \"0123456789abcdefXYZ\"", "holds at most 15"},
		{"run_mode: MODE_NONE", "not a value of enum mode"},
		{"no_such_var: 1", "no global variable no_such_var"},
	} {
		m := e.manifest(fmt.Sprintf("c%d.yaml", i), "consts", "rw_filter.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
constants:
  `+c.line+`
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`)
		r := e.mustFail(m, 3, "BPFLOAD-E012")
		if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, fmt.Sprintf("c%d.yaml:10", i)) {
			t.Errorf("%s: message lacks %q or the line:\n%s", c.line, c.want, r.stderr)
		}
	}
}

// init proposes, among fentry, kprobe and tracepoint variants of one hook,
// the one this kernel loads, and its skeleton loads as written.
func TestInitPicksVariant(t *testing.T) {
	e := newEnv(t)
	obj := filepath.Join(e.dir, "rw_variants.bpf.o")
	data, err := os.ReadFile(filepath.Join(testdata, "rw_variants.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.runRaw(exec.Command(bin, "init", obj))
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "- name: unlink_tp") || strings.Contains(r.stdout, "- name: unlink_fentry") || strings.Contains(r.stdout, "- name: unlink_kprobe") {
		t.Fatalf("init did not choose the tracepoint variant alone:\n%s", r.stdout)
	}
	for _, why := range []string{"chose unlink_tp", "over unlink_fentry", "over unlink_kprobe", "no kprobes"} {
		if !strings.Contains(r.stdout, why) {
			t.Errorf("init does not say why (%q):\n%s", why, r.stdout)
		}
	}
	m := filepath.Join(e.dir, "rw_variants.yaml")
	if err := os.WriteFile(m, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := e.mustLoad(m)
	if len(rep.Programs) != 1 || rep.Programs[0].Name != "unlink_tp" {
		t.Errorf("loaded %+v", rep.Programs)
	}
}

// init lists the object's variables and sizes its unsized maps.
func TestInitListsVariablesAndMaps(t *testing.T) {
	e := newEnv(t)
	r := e.runRaw(exec.Command(bin, "init", filepath.Join(testdata, "rw_filter.bpf.o")))
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{"#   targ_tgid: 0   # const volatile int in .rodata", "#   run_mode: MODE_COUNT", "- name: stacks", "maxEntries: 1024", "valueSize: 1016", "- name: opens_by_tgid"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("skeleton lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "name: .rodata") {
		t.Errorf("skeleton lists a data section as a map:\n%s", r.stdout)
	}
}

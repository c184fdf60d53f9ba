// Package e2e runs the built bpfload binary as root against the running
// kernel. Every test mounts its own bpffs, and removes every network
// namespace, cgroup, mount and pin it creates. Under CI=true a missing
// privilege fails the tests instead of skipping them.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

var (
	bin       string // the bpfload binary under test
	skipWhy   string // why the suite cannot run here, if it cannot
	testdata  string
	unmountTF bool
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	td, _ := filepath.Abs("testdata")
	testdata = td
	if os.Geteuid() != 0 {
		skipWhy = "e2e tests run as root"
	}
	dir, err := os.MkdirTemp("", "bpfload-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "bpfload")
	build := exec.Command("go", "build", "-o", bin, "../cmd/bpfload")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build bpfload: %v\n%s", err, out)
		return 1
	}
	if skipWhy == "" && !isMount("/sys/kernel/tracing", unix.TRACEFS_MAGIC) {
		if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
			skipWhy = "cannot mount tracefs: " + err.Error()
		} else {
			unmountTF = true
		}
	}
	code := m.Run()
	if unmountTF {
		_ = unix.Unmount("/sys/kernel/tracing", unix.MNT_DETACH)
	}
	return code
}

func isMount(path string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == magic
}

// requireRoot skips the test where it cannot run, or fails it in CI.
func requireRoot(t *testing.T) {
	t.Helper()
	if skipWhy == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("e2e test cannot run: %s (CI=true: never skipped)", skipWhy)
	}
	t.Skip(skipWhy)
}

// env is one test's private world: a bpffs mount, a state directory and a
// manifest directory.
type env struct {
	t        *testing.T
	dir      string
	bpffs    string
	pinRoot  string
	stateDir string
	before   map[ebpf.ProgramID]bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	e := &env{t: t, dir: dir, bpffs: filepath.Join(dir, "bpffs"), stateDir: filepath.Join(dir, "state")}
	e.pinRoot = filepath.Join(e.bpffs, "bpfload")
	if err := os.Mkdir(e.bpffs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("bpf", e.bpffs, "bpf", 0, "mode=0755"); err != nil {
		t.Fatalf("mount bpffs: %v", err)
	}
	e.before = programIDs(t)
	t.Cleanup(func() {
		// Unmounting bpffs drops every pin, so links detach and programs go.
		if err := unix.Unmount(e.bpffs, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", e.bpffs, err)
		}
	})
	return e
}

// programIDs lists the programs loaded in the kernel now.
func programIDs(t *testing.T) map[ebpf.ProgramID]bool {
	t.Helper()
	ids := map[ebpf.ProgramID]bool{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break
		}
		ids[next] = true
		id = next
	}
	return ids
}

// newPrograms lists programs loaded since the env was made, by name.
func (e *env) newPrograms() []string {
	var names []string
	for id := range programIDs(e.t) {
		if e.before[id] {
			continue
		}
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // gone meanwhile
		}
		info, err := p.Info()
		p.Close()
		if err == nil {
			names = append(names, fmt.Sprintf("%s(%d)", info.Name, id))
		}
	}
	return names
}

// assertNothingLoaded checks that no program of this test is loaded and
// nothing is pinned below the pin root.
func (e *env) assertNothingLoaded() {
	e.t.Helper()
	// The kernel frees released programs after an RCU grace period.
	deadline := time.Now().Add(3 * time.Second)
	progs := e.newPrograms()
	for len(progs) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		progs = e.newPrograms()
	}
	if len(progs) > 0 {
		e.t.Errorf("programs still loaded: %v", progs)
	}
	if ents, err := os.ReadDir(e.pinRoot); err == nil {
		for _, ent := range ents {
			e.t.Errorf("left behind in pin root: %s", ent.Name())
		}
	}
}

// assertGone waits for program id to be freed.
func (e *env) assertGone(id ebpf.ProgramID) {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			return
		}
		p.Close()
		if time.Now().After(deadline) {
			e.t.Errorf("program %d is still loaded", id)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertNothingLoadedBut is assertNothingLoaded for a pin root that holds
// the directory keep, made by the test itself.
func (e *env) assertNothingLoadedBut(keep string) {
	e.t.Helper()
	if err := os.Remove(filepath.Join(e.pinRoot, keep)); err != nil {
		e.t.Errorf("%s: %v (something was pinned into it?)", keep, err)
	}
	e.assertNothingLoaded()
}

func mkdirAll(p string) error { return os.MkdirAll(p, 0o755) }

// manifest copies object from testdata into the env and writes a manifest
// naming it with its digest. body is the YAML after the object: key.
func (e *env) manifest(file, name, object, body string) string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, object))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, object), data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	text := fmt.Sprintf("apiVersion: bpfload/v1\nkind: Manifest\nname: %s\nversion: 1\nobject:\n  path: %s\n  sha256: %s\n%s",
		name, object, hex.EncodeToString(sum[:]), strings.TrimLeft(body, "\n"))
	path := filepath.Join(e.dir, file)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs bpfload SUBCOMMAND with this env's pin root and state directory
// placed after the subcommand, then args.
func (e *env) run(sub string, args ...string) result {
	e.t.Helper()
	full := append([]string{sub, "--pin-root", e.pinRoot, "--state-dir", e.stateDir}, args...)
	return e.runRaw(exec.Command(bin, full...))
}

func (e *env) runRaw(cmd *exec.Cmd) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return r
}

// mustLoad loads a manifest with --allow-unsigned and --output json and
// returns the report.
func (e *env) mustLoad(manifest string, extra ...string) loadReport {
	e.t.Helper()
	args := append([]string{"--allow-unsigned", "--output", "json"}, extra...)
	r := e.run("load", append(args, manifest)...)
	if r.code != 0 {
		e.t.Fatalf("load %s: exit %d\nstdout: %s\nstderr: %s", manifest, r.code, r.stdout, r.stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		e.t.Fatalf("load report: %v\n%s", err, r.stdout)
	}
	return rep
}

// mustFail runs load expecting exit status code and an error code in the
// output, then checks nothing was left loaded.
func (e *env) mustFail(manifest string, exit int, errCode string, extra ...string) result {
	e.t.Helper()
	args := append([]string{"--allow-unsigned"}, extra...)
	r := e.run("load", append(args, manifest)...)
	if r.code != exit || !strings.Contains(r.stderr+r.stdout, errCode) {
		e.t.Fatalf("load %s: want exit %d with %s, got exit %d\nstdout: %s\nstderr: %s", manifest, exit, errCode, r.code, r.stdout, r.stderr)
	}
	e.assertNothingLoaded()
	return r
}

type loadReport struct {
	Name     string `json:"name"`
	PinDir   string `json:"pin_dir"`
	Programs []struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		ID      uint32 `json:"id"`
		Attach  string `json:"attach"`
		Pin     string `json:"pin"`
		LinkPin string `json:"link_pin"`
	} `json:"programs"`
	Maps []struct {
		Name string `json:"name"`
		Pin  string `json:"pin"`
	} `json:"maps"`
	Capabilities struct {
		Manifest   []string `json:"manifest"`
		DuringLoad []string `json:"during_load"`
		AfterDrop  []string `json:"after_drop"`
	} `json:"capabilities"`
}

// counter reads slot 0 of a pinned counter map.
func counter(t *testing.T, pin string) uint64 {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(pin, nil)
	if err != nil {
		t.Fatalf("open pinned map: %v", err)
	}
	defer m.Close()
	var v uint64
	if err := m.Lookup(uint32(0), &v); err != nil {
		t.Fatalf("lookup %s: %v", pin, err)
	}
	return v
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// execLimit bounds one bpfload exec run, so a workload that never ends
// fails its test instead of stalling the suite.
const execLimit = time.Minute

// statusScript prints the workload's own credentials: $$ is the shell,
// which is the process bpfload exec'd into.
const statusScript = `grep -E '^(Cap|NoNewPrivs|Uid|Gid|Groups)' /proc/$$/status; echo "id: $(id -u) $(id -g)"`

// execRun runs bpfload exec with this env's pin root and state directory
// and no descriptor beyond 0, 1 and 2 (exec.Cmd passes no other).
func (e *env) execRun(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), execLimit)
	defer cancel()
	full := append([]string{"exec", "--pin-root", e.pinRoot, "--state-dir", e.stateDir}, args...)
	r := e.runRaw(exec.CommandContext(ctx, bin, full...))
	if ctx.Err() != nil {
		e.t.Fatalf("bpfload %s: killed after %s", strings.Join(full, " "), execLimit)
	}
	return r
}

// parseStatus reads "Key:<tab>value" lines.
func parseStatus(out string) map[string]string {
	st := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st
}

// checkHoldsNothing checks a workload's status lines: every capability set
// empty, no_new_privs set, and every uid and gid (real, effective, saved,
// filesystem) the expected one, so nothing can be regained.
func checkHoldsNothing(t *testing.T, st map[string]string, uid, gid int) {
	t.Helper()
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("workload %s = %q, want 0000000000000000", k, st[k])
		}
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("workload NoNewPrivs = %q, want 1", st["NoNewPrivs"])
	}
	for k, want := range map[string]int{"Uid": uid, "Gid": gid} {
		f := strings.Fields(st[k])
		if len(f) != 4 {
			t.Errorf("workload %s line: %q", k, st[k])
			continue
		}
		for _, v := range f {
			if v != strconv.Itoa(want) {
				t.Errorf("workload %s = %q, want %d in all four", k, st[k], want)
				break
			}
		}
	}
}

// checkID checks the workload's own `id -u` and `id -g`.
func checkID(t *testing.T, st map[string]string, uid, gid int) {
	t.Helper()
	if want := fmt.Sprintf("%d %d", uid, gid); st["id"] != want {
		t.Errorf("workload id -u, id -g: %q, want %q", st["id"], want)
	}
}

// The workload bpfload exec runs holds no capability in any set, the
// bounding set included, runs with no_new_privs, and with --user runs as
// that user with no supplementary group; the programs stay loaded.
func TestExecWorkloadHoldsNothing(t *testing.T) {
	for _, c := range []struct {
		name     string
		flags    []string
		uid, gid int
	}{
		{"as root", nil, 0, 0},
		{"--user 65534", []string{"--user", "65534"}, nobody, nobody},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
			args := append(append([]string{"--allow-unsigned"}, c.flags...), m, "--", "sh", "-c", statusScript)
			r := e.execRun(args...)
			if r.code != 0 {
				t.Fatalf("exec: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			// The load report goes to stderr, leaving stdout to the workload.
			if !strings.Contains(r.stderr, "loaded switches") || strings.Contains(r.stdout, "loaded switches") {
				t.Errorf("load report not on stderr alone:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
			}
			st := parseStatus(r.stdout)
			checkHoldsNothing(t, st, c.uid, c.gid)
			checkID(t, st, c.uid, c.gid)
			if c.flags != nil && st["Groups"] != "" {
				t.Errorf("workload keeps supplementary groups %q", st["Groups"])
			}
			if it := e.status("switches"); it.Status != "ok" {
				t.Errorf("after the workload: status %+v, want ok", it)
			}
			e.unload("switches")
		})
	}
}

// buildFDReader builds testdata/fdreader into dir.
func buildFDReader(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "fdreader")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/fdreader")
	cmd.Dir = filepath.Dir(testdata)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fdreader: %v\n%s", err, b)
	}
	return out
}

// makeTraversable opens the test's temporary directories (0700) to
// nobody.
func makeTraversable(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// passedOn lists the descriptors this test process hands every child
// (open without close-on-exec, inherited from whoever started go test):
// they reach bpfload from outside, so its workload check ignores them.
func passedOn(t *testing.T) map[int]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]bool{}
	for _, ent := range ents {
		n, err := strconv.Atoi(ent.Name())
		if err != nil || n < 3 {
			continue
		}
		if fl, err := unix.FcntlInt(uintptr(n), unix.F_GETFD, 0); err == nil && fl&unix.FD_CLOEXEC == 0 {
			fds[n] = true
		}
	}
	return fds
}

// With --pass-fd, an unprivileged workload reads the counter map through
// the descriptor it inherits (it never opens the pin) and sees it rise;
// it inherits no other descriptor bpfload held.
func TestExecPassFD(t *testing.T) {
	e := newEnv(t)
	makeTraversable(t, e.dir)
	reader := buildFDReader(t, e.dir)
	m := e.manifest("op.yaml", "opens", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
`)
	// find runs as a child and lists the shell's descriptors, which are
	// exactly what fdreader then inherits through exec.
	script := `env | grep '^BPFLOAD_FD_'; find /proc/$$/fd -mindepth 1 -printf 'fd %f %l\n'; exec "$0" BPFLOAD_FD_OPENS`
	inherited := passedOn(t)
	r := e.execRun("--allow-unsigned", "--user", "65534", "--pass-fd", "opens", m, "--", "sh", "-c", script, reader)
	if r.code != 0 {
		t.Fatalf("exec: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var envs []string
	fds := map[int]string{}
	var name string
	var before, after uint64
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "BPFLOAD_FD_"):
			envs = append(envs, l)
		case len(f) == 3 && f[0] == "fd":
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("fd line %q", l)
			}
			fds[n] = f[2]
		case len(f) == 3:
			name = f[0]
			before, _ = strconv.ParseUint(f[1], 10, 64)
			after, _ = strconv.ParseUint(f[2], 10, 64)
		default:
			t.Errorf("unexpected workload line %q", l)
		}
	}
	if len(envs) != 1 || !strings.HasPrefix(envs[0], "BPFLOAD_FD_OPENS=") {
		t.Fatalf("workload environment: %q, want one BPFLOAD_FD_OPENS\n%s", envs, r.stdout)
	}
	passed, err := strconv.Atoi(strings.TrimPrefix(envs[0], "BPFLOAD_FD_OPENS="))
	if err != nil {
		t.Fatalf("%s: %v", envs[0], err)
	}
	var got []int
	for n, target := range fds {
		if strings.HasPrefix(target, "anon_inode:bpf") && n != passed {
			t.Errorf("workload inherited fd %d -> %s besides the passed map", n, target)
		}
		if !inherited[n] {
			got = append(got, n)
		}
	}
	slices.Sort(got)
	if want := []int{0, 1, 2, passed}; !slices.Equal(got, want) {
		t.Errorf("workload descriptors %v (all: %v; passed on by the test process: %v), want %v", got, fds, inherited, want)
	}
	if fds[passed] != "anon_inode:bpf-map" {
		t.Errorf("fd %d is %q, want anon_inode:bpf-map", passed, fds[passed])
	}
	if name != "opens" || after <= before {
		t.Fatalf("fdreader read map %q going %d -> %d; want map opens rising\n%s", name, before, after, r.stdout)
	}
	// The descriptor was the pinned map itself.
	pin := filepath.Join(e.pinRoot, "opens", "maps", "opens")
	if v := counter(t, pin); v < after {
		t.Errorf("pinned counter %d is below what the workload read (%d)", v, after)
	}
	e.unload("opens")
}

// A --pass-fd naming no map of the load fails without running the
// workload, and leaves nothing loaded, pinned or recorded.
func TestExecPassFDUnknownMap(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	r := e.execRun("--allow-unsigned", "--pass-fd", "nosuchmap", m, "--", "sh", "-c", "echo WORKLOAD RAN")
	if r.code == 0 || strings.Contains(r.stdout, "WORKLOAD RAN") || !strings.Contains(r.stderr, "nosuchmap") {
		t.Fatalf("exec --pass-fd nosuchmap: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	e.assertNothingLoaded()
	if items := e.list(); len(items) != 0 {
		t.Errorf("list after a failed exec: %+v, want nothing", items)
	}
}

// The workload's exit status is bpfload exec's, and its programs stay
// loaded and pinned after it exits, until unload.
func TestExecExitStatus(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	r := e.execRun("--allow-unsigned", m, "--", "sh", "-c", "exit 7")
	if r.code != 7 {
		t.Fatalf("exec of exit 7: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	checkAttached(t, e.status("switches"), "switches", "on_switch", "raw_tracepoint")
	pin := filepath.Join(e.pinRoot, "switches", "maps", "switches")
	waitCounter(t, pin, counter(t, pin)+1)
	e.unload("switches")
}

// startExec starts bpfload exec with script as the workload and returns
// once the workload has printed its pid, which must be bpfload's own:
// exec replaced bpfload in the same process.
func (e *env) startExec(m, script string) (*exec.Cmd, *bytes.Buffer) {
	e.t.Helper()
	cmd := exec.Command(bin, "exec", "--pin-root", e.pinRoot, "--state-dir", e.stateDir, "--allow-unsigned", m, "--", "sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l != strconv.Itoa(cmd.Process.Pid) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			e.t.Fatalf("workload says pid %q, bpfload was %d\nstderr: %s", l, cmd.Process.Pid, stderr.String())
		}
	case <-time.After(execLimit):
		e.t.Fatalf("workload printed nothing after %s\nstderr: %s", execLimit, stderr.String())
	}
	return cmd, &stderr
}

// A signal sent to bpfload exec's process reaches the workload as its
// own: its default action or its handler decides, and the programs stay.
func TestExecSignalIsTheWorkloads(t *testing.T) {
	for _, c := range []struct {
		name, script string
		check        func(ws syscall.WaitStatus) bool
		want         string
	}{
		{"default action", `echo $$; exec sleep 1000`,
			func(ws syscall.WaitStatus) bool { return ws.Signaled() && ws.Signal() == syscall.SIGTERM },
			"killed by SIGTERM"},
		{"own handler", `trap 'exit 42' TERM; echo $$; while :; do sleep 0.1; done`,
			func(ws syscall.WaitStatus) bool { return ws.Exited() && ws.ExitStatus() == 42 },
			"exit status 42 from its trap"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
			cmd, stderr := e.startExec(m, c.script)
			// Seen from outside too: the running workload holds nothing.
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			checkHoldsNothing(t, parseStatus(string(b)), 0, 0)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(execLimit):
				t.Fatalf("workload still running %s after SIGTERM", execLimit)
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !c.check(ws) {
				t.Errorf("workload ended with %v, want %s\nstderr: %s", cmd.ProcessState, c.want, stderr.String())
			}
			checkAttached(t, e.status("switches"), "switches", "on_switch", "raw_tracepoint")
			pin := filepath.Join(e.pinRoot, "switches", "maps", "switches")
			waitCounter(t, pin, counter(t, pin)+1)
			e.unload("switches")
		})
	}
}

// The setpriv flags below start bpfload as a container runtime or systemd
// starts a non-root process: as nobody, with its capabilities only in the
// inheritable and ambient sets (execve makes them permitted and
// effective) and a bounding set of exactly those.
func setprivArgs(caps []string) []string {
	args := []string{"--reuid", strconv.Itoa(nobody), "--regid", strconv.Itoa(nobody), "--clear-groups"}
	if len(caps) == 0 {
		return append(args, "--inh-caps", "-all", "--bounding-set", "-all")
	}
	plus := "+" + strings.Join(caps, ",+")
	return append(args, "--inh-caps", plus, "--ambient-caps", plus, "--bounding-set", "-all,"+plus)
}

// plainCopy copies bpfload, without file capabilities (which would clear
// the ambient set at execve), where nobody can run it.
func (n *nobodyEnv) plainCopy() string {
	n.t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		n.t.Fatal(err)
	}
	dir := filepath.Join(n.dir, "plain")
	if err := os.Mkdir(dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	p := filepath.Join(dir, "bpfload")
	if err := os.WriteFile(p, data, 0o755); err != nil {
		n.t.Fatal(err)
	}
	return p
}

// runSetpriv runs bpfload SUBCOMMAND through setpriv with the given extra
// setpriv flags.
func (n *nobodyEnv) runSetpriv(bpfload string, setpriv []string, sub string, args ...string) result {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), execLimit)
	defer cancel()
	full := append(append(slices.Clone(setpriv), "--", bpfload, sub, "--pin-root", n.pinRoot, "--state-dir", n.stateDir), args...)
	cmd := exec.CommandContext(ctx, "setpriv", full...)
	cmd.Dir = n.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	r := n.runRaw(cmd)
	if ctx.Err() != nil {
		n.t.Fatalf("setpriv %s: killed after %s", strings.Join(full, " "), execLimit)
	}
	return r
}

// listNobody returns `list --output json` run as nobody with no
// capability.
func (n *nobodyEnv) listNobody(bpfload string) []listItem {
	n.t.Helper()
	r := n.runSetpriv(bpfload, setprivArgs(nil), "list", "--output", "json")
	if r.code != 0 {
		n.t.Fatalf("list as nobody: exit %d\n%s", r.code, r.stderr)
	}
	var items []listItem
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		n.t.Fatalf("list output: %v\n%s", err, r.stdout)
	}
	return items
}

// As a container's entrypoint (non-root, capabilities ambient, bounding
// set reduced to them, no_new_privs as allowPrivilegeEscalation: false
// sets), bpfload exec loads and the workload holds nothing.
func TestExecContainerAmbient(t *testing.T) {
	n := newNobodyEnv(t)
	bpfload := n.plainCopy()
	m := n.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	sp := append(setprivArgs([]string{"bpf", "perfmon", "setpcap"}), "--nnp")
	r := n.runSetpriv(bpfload, sp, "exec", "--allow-unsigned", m, "--", "sh", "-c", statusScript)
	if r.code != 0 {
		t.Fatalf("exec in the simulated container: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	st := parseStatus(r.stdout)
	checkHoldsNothing(t, st, nobody, nobody)
	checkID(t, st, nobody, nobody)
	if items := n.listNobody(bpfload); len(items) != 1 || items[0].Name != "switches" || items[0].Status != "ok" {
		t.Errorf("list after the workload: %+v", items)
	}
	var fi syscall.Stat_t
	if err := syscall.Stat(filepath.Join(n.pinRoot, "switches"), &fi); err != nil || fi.Uid != nobody {
		t.Errorf("pin dir: uid %d, err %v; want nobody's", fi.Uid, err)
	}
	if r := n.runSetpriv(bpfload, setprivArgs(nil), "unload", "switches"); r.code != 0 {
		t.Fatalf("unload as nobody: exit %d\n%s", r.code, r.stderr)
	}
	n.assertNothingLoaded()
}

// As the DaemonSet in deploy/kubernetes runs it (root, the pod's added
// capabilities as the bounding set, no_new_privs), bpfload exec --user
// hands the workload nobody's identity, the map, and nothing else.
func TestExecContainerRootPod(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	// Root's permitted set after execve is its bounding set.
	cmd := exec.Command("setpriv", "--nnp", "--inh-caps", "-all", "--bounding-set", "-all,+bpf,+perfmon,+setpcap,+setuid,+setgid", "--",
		bin, "exec", "--pin-root", e.pinRoot, "--state-dir", e.stateDir, "--allow-unsigned", "--user", "65534", "--pass-fd", "switches", m,
		"--", "sh", "-c", statusScript+`; echo "fd: $BPFLOAD_FD_SWITCHES"`)
	r := e.runRaw(cmd)
	if r.code != 0 {
		t.Fatalf("exec in the simulated pod: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	st := parseStatus(r.stdout)
	checkHoldsNothing(t, st, nobody, nobody)
	checkID(t, st, nobody, nobody)
	if _, err := strconv.Atoi(st["fd"]); err != nil {
		t.Errorf("workload got no BPFLOAD_FD_SWITCHES: %q", st["fd"])
	}
	if it := e.status("switches"); it.Status != "ok" {
		t.Errorf("after the workload: status %+v, want ok", it)
	}
	e.unload("switches")
}

// A container granted too little is refused before anything loads, with
// the capability named in docker and Kubernetes terms.
func TestExecContainerMissingCapability(t *testing.T) {
	for _, c := range []struct {
		name    string
		caps    []string
		flags   []string
		missing []string
	}{
		{"no PERFMON", []string{"bpf", "setpcap"}, nil, []string{"PERFMON"}},
		{"no SETPCAP", []string{"bpf", "perfmon"}, nil, []string{"SETPCAP"}},
		{"--user without SETUID and SETGID", []string{"bpf", "perfmon", "setpcap"}, []string{"--user", "65534"}, []string{"SETUID", "SETGID"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := newNobodyEnv(t)
			bpfload := n.plainCopy()
			m := n.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
			args := append(append([]string{"--allow-unsigned"}, c.flags...), m, "--", "sh", "-c", "echo WORKLOAD RAN")
			r := n.runSetpriv(bpfload, setprivArgs(c.caps), "exec", args...)
			var words []string
			for _, mc := range c.missing {
				words = append(words, "--cap-add "+mc, "CAP_"+mc)
			}
			wantFailure(t, r, 4, "BPFLOAD-E030", words...)
			if !strings.Contains(r.stderr, "may not raise") {
				t.Errorf("the refusal does not say what cannot be raised:\n%s", r.stderr)
			}
			if strings.Contains(r.stdout, "WORKLOAD RAN") {
				t.Errorf("the workload ran after a refusal")
			}
			var k8s string
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, "securityContext") {
					k8s = l
				}
			}
			for _, mc := range c.missing {
				if !strings.Contains(k8s, mc) {
					t.Errorf("no securityContext line adding %s:\n%s", mc, r.stderr)
				}
			}
			n.assertNothingLoaded()
			if items := n.listNobody(bpfload); len(items) != 0 {
				t.Errorf("list after a refusal: %+v", items)
			}
		})
	}
}

// bpfload load as systemd's AmbientCapabilities=, CapabilityBoundingSet=,
// NoNewPrivileges= and SecureBits= leave it: non-root, capabilities
// ambient. It loads, lists and unloads as nobody.
func TestLoadAmbientOnly(t *testing.T) {
	n := newNobodyEnv(t)
	bpfload := n.plainCopy()
	m := n.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	sp := append(setprivArgs([]string{"bpf", "perfmon"}), "--nnp", "--securebits", "+noroot,+noroot_locked")
	r := n.runSetpriv(bpfload, sp, "load", "--allow-unsigned", "--output", "json", m)
	if r.code != 0 {
		t.Fatalf("load with ambient capabilities: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("load report: %v\n%s", err, r.stdout)
	}
	if want := []string{"CAP_BPF", "CAP_PERFMON"}; !slices.Equal(rep.Capabilities.DuringLoad, want) {
		t.Errorf("during load: %v, want %v", rep.Capabilities.DuringLoad, want)
	}
	if len(rep.Capabilities.AfterDrop) != 0 {
		t.Errorf("after drop: %v, want none", rep.Capabilities.AfterDrop)
	}
	pin := filepath.Join(n.pinRoot, "switches", "maps", "switches")
	waitCounter(t, pin, counter(t, pin)+1)
	if items := n.listNobody(bpfload); len(items) != 1 || items[0].Name != "switches" || items[0].Status != "ok" {
		t.Errorf("list as nobody: %+v", items)
	}
	if r := n.runSetpriv(bpfload, setprivArgs(nil), "unload", "switches"); r.code != 0 {
		t.Fatalf("unload as nobody: exit %d\n%s", r.code, r.stderr)
	}
	n.assertNothingLoaded()
}

package diag

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/loader"
	"golang.org/x/sys/unix"
)

func set(t *testing.T, names ...string) caps.Set {
	t.Helper()
	s, err := caps.Parse(names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExplain(t *testing.T) {
	memlock := fmt.Errorf("load program: %w (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", unix.EPERM)
	cases := []struct {
		name    string
		err     *loader.StepError
		granted []string
		code    Code
		want    []string // substrings of cause and fix
	}{
		{"tracepoint without PERFMON",
			&loader.StepError{Op: loader.OpProgLoad, Program: "count_openat", ProgramType: "tracepoint", Err: memlock},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_PERFMON", "is_perfmon_prog_type", "add CAP_PERFMON to capabilities"}},
		{"xdp without NET_ADMIN",
			&loader.StepError{Op: loader.OpProgLoad, Program: "xdp_count", ProgramType: "xdp", Err: unix.EPERM},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_NET_ADMIN"}},
		{"SYS_ADMIN covers BPF and PERFMON",
			&loader.StepError{Op: loader.OpProgLoad, Program: "p", ProgramType: "tracepoint", Err: unix.EPERM},
			[]string{"CAP_SYS_ADMIN"}, ERefused, []string{"not a capability", "LSM denials"}},
		{"all granted, empty log: platform",
			&loader.StepError{Op: loader.OpProgLoad, Program: "on_unlink", ProgramType: "tracing", Err: unix.EPERM},
			[]string{"CAP_BPF", "CAP_PERFMON"}, ERefused, []string{"empty verifier log", "trampolines"}},
		{"helper needs PERFMON",
			&loader.StepError{Op: loader.OpProgLoad, Program: "p", ProgramType: "socket_filter", Err: unix.EINVAL,
				VerifierLog: []string{"0: (85) call bpf_probe_read_kernel#113", "program of this type cannot use helper bpf_probe_read_kernel#113", "processed 3 insns"}},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_PERFMON", "bpf_probe_read_kernel", "cannot use helper"}},
		{"helper the type cannot use at all",
			&loader.StepError{Op: loader.OpProgLoad, Program: "p", ProgramType: "socket_filter", Err: unix.EINVAL,
				VerifierLog: []string{"program of this type cannot use helper bpf_skb_store_bytes#9"}},
			[]string{"CAP_BPF"}, EVerifier, []string{"cannot use helper bpf_skb_store_bytes"}},
		{"probe_write_user under lockdown",
			&loader.StepError{Op: loader.OpProgLoad, Program: "p", ProgramType: "kprobe", Err: unix.EINVAL,
				VerifierLog: []string{"program of this type cannot use helper bpf_probe_write_user#36"}},
			[]string{"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"}, ERefused, []string{"lockdown"}},
		{"pointer leak",
			&loader.StepError{Op: loader.OpProgLoad, Program: "p", ProgramType: "socket_filter", Err: unix.EACCES,
				VerifierLog: []string{"R0 leaks addr as return value"}},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_PERFMON", "leaks addr"}},
		{"plain verifier rejection",
			&loader.StepError{Op: loader.OpProgLoad, Program: "rejected", ProgramType: "raw_tracepoint", Err: unix.EACCES,
				VerifierLog: []string{"0: (b7) r1 = 0", "R0 invalid mem access 'map_value_or_null'", "processed 9 insns"}},
			[]string{"CAP_BPF", "CAP_PERFMON"}, EVerifier, []string{"invalid mem access", "--verbose"}},
		{"sockmap without NET_ADMIN",
			&loader.StepError{Op: loader.OpMapCreate, Map: "socks", MapType: "SockMap", Err: unix.EPERM},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_NET_ADMIN", "SockMap"}},
		{"unsized map",
			&loader.StepError{Op: loader.OpMapCreate, Map: "stacks", MapType: "StackTrace", Err: unix.EINVAL},
			[]string{"CAP_BPF"}, EMapCreate, []string{"max_entries"}},
		{"cgroup_skb attach without NET_ADMIN",
			&loader.StepError{Op: loader.OpAttach, Program: "allow_ingress", ProgramType: "cgroup_skb", AttachKind: "cgroup", Err: unix.EPERM},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_NET_ADMIN", "cgroup_skb"}},
		{"tracepoint attach without PERFMON",
			&loader.StepError{Op: loader.OpAttach, Program: "p", ProgramType: "tracepoint", AttachKind: "tracepoint", Err: unix.EACCES},
			[]string{"CAP_BPF"}, EMissingCap, []string{"CAP_PERFMON", "perf_event_open"}},
		{"uprobe PMU without SYS_ADMIN",
			&loader.StepError{Op: loader.OpAttach, Program: "p", ProgramType: "kprobe", Section: "uprobe", AttachKind: "uprobe", Err: unix.EACCES},
			[]string{"CAP_BPF", "CAP_PERFMON"}, EMissingCap, []string{"CAP_SYS_ADMIN", "uprobe.multi"}},
		{"tracefs not readable",
			&loader.StepError{Op: loader.OpAttach, Program: "p", ProgramType: "tracepoint", AttachKind: "tracepoint",
				Err: &os.PathError{Op: "open", Path: "/sys/kernel/tracing/events/syscalls/sys_enter_openat/id", Err: unix.EACCES}},
			[]string{"CAP_BPF", "CAP_PERFMON"}, ETracefs, []string{"gid=", "CAP_DAC_READ_SEARCH", "raw_tracepoint"}},
		{"attach not supported",
			&loader.StepError{Op: loader.OpAttach, Program: "x", ProgramType: "xdp", AttachKind: "xdp", Err: unix.EOPNOTSUPP},
			[]string{"CAP_BPF", "CAP_NET_ADMIN"}, EAttach, []string{"does not support"}},
		{"pin denied",
			&loader.StepError{Op: loader.OpPin, Program: "x", Target: "/sys/fs/bpf/x", Err: unix.EACCES},
			nil, EPinDenied, []string{"chown"}},
		{"pin not on bpffs",
			&loader.StepError{Op: loader.OpPin, Target: "/tmp/x", Err: fmt.Errorf("%w: /tmp/x", loader.ErrNotBPFFS)},
			nil, ENotBPFFS, []string{"mount -t bpf"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Explain(c.err, Context{Granted: set(t, c.granted...), Manifest: "m.yaml"})
			if e.Code != c.code {
				t.Fatalf("code %s (%s), want %s; cause %q", e.Code.ID, e.Code.Title, c.code.ID, e.Cause)
			}
			all := e.Msg + "\n" + e.Cause + "\n" + strings.Join(e.Fix, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("explanation lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "MEMLOCK") {
				t.Errorf("MEMLOCK hint reached the user:\n%s", all)
			}
			if !errors.Is(e, c.err.Err) && !errors.Is(e, c.err) {
				t.Error("explanation does not wrap the step error")
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	if ExitStatus(New(EMissingCap, "x")) != 4 || ExitStatus(New(EUsage, "x")) != 2 || ExitStatus(errors.New("x")) != 1 {
		t.Error("exit statuses")
	}
}

// Every code is unique, well-formed, and has a troubleshooting entry in
// README.md.
func TestCodesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	re := regexp.MustCompile(`^BPFLOAD-E\d{3}$`)
	for _, c := range All() {
		if !re.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("code %q malformed or reused", c.ID)
		}
		seen[c.ID] = true
		if !strings.Contains(string(readme), "### "+c.ID) {
			t.Errorf("README.md has no troubleshooting entry \"### %s\"", c.ID)
		}
	}
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	e := New(EVerifier, "program p: rejected").At("m.yaml:9").With("fix it")
	e.Detail = []string{"0: r0 = 0", "processed 1 insns"}
	e.WriteText(&b, false)
	if !strings.Contains(b.String(), "BPFLOAD-E040") || !strings.Contains(b.String(), "m.yaml:9") || !strings.Contains(b.String(), "2 more lines with --verbose") {
		t.Errorf("text:\n%s", b.String())
	}
	b.Reset()
	e.WriteText(&b, true)
	if !strings.Contains(b.String(), "processed 1 insns") {
		t.Errorf("verbose text lacks the log:\n%s", b.String())
	}
}

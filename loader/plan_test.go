package loader

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
)

func object(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../e2e/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func tp(s string) *TracepointAttach       { a := TracepointAttach(s); return &a }
func rawtp(s string) *RawTracepointAttach { a := RawTracepointAttach(s); return &a }

func TestPrepareKeepsOnlyRequested(t *testing.T) {
	plan, err := Prepare(&Request{Object: object(t, "tracing.bpf.o"), Programs: []Program{
		{Name: "on_switch", Attach: Attach{RawTracepoint: rawtp("sched_switch")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan.Maps(), ","); got != "switches" {
		t.Errorf("maps %q, want only the one on_switch uses", got)
	}
	info := plan.Programs()
	if len(info) != 1 || info[0].Type != "raw_tracepoint" || info[0].AttachKind != "raw_tracepoint" || info[0].AttachPoint != "sched_switch" {
		t.Errorf("programs %+v", info)
	}
}

func TestPreparePinMaps(t *testing.T) {
	plan, err := Prepare(&Request{Object: object(t, "tracing.bpf.o"), PinMaps: []string{"calls"}, Programs: []Program{
		{Name: "on_switch", Attach: Attach{RawTracepoint: rawtp("sched_switch")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan.Maps(), ","); got != "calls,switches" {
		t.Errorf("maps %q: a listed map is created even if unused", got)
	}
	_, err = Prepare(&Request{Object: object(t, "tracing.bpf.o"), PinMaps: []string{"nope"}, Programs: []Program{
		{Name: "on_switch", Attach: Attach{None: true}}}})
	if !errors.Is(err, ErrNoMap) {
		t.Errorf("unknown map: %v", err)
	}
}

func TestPrepareErrors(t *testing.T) {
	cases := []struct {
		name   string
		obj    string
		prog   Program
		want   error
		inText string
	}{
		{"missing program", "tracing.bpf.o", Program{Name: "nope", Attach: Attach{None: true}}, ErrNoProgram, "count_openat"},
		{"xdp for a tracepoint program", "tracing.bpf.o", Program{Name: "count_openat", Attach: Attach{XDP: &XDPAttach{Interface: "lo"}}}, ErrAttachMismatch, "tracepoint program"},
		{"tracepoint for xdp", "net.bpf.o", Program{Name: "xdp_count", Attach: Attach{Tracepoint: tp("syscalls/sys_enter_openat")}}, ErrAttachMismatch, `section "xdp"`},
		{"bad tracepoint name", "tracing.bpf.o", Program{Name: "count_openat", Attach: Attach{Tracepoint: tp("sys_enter_openat")}}, ErrBadAttach, "GROUP/NAME"},
		{"bad raw tracepoint", "tracing.bpf.o", Program{Name: "on_switch", Attach: Attach{RawTracepoint: rawtp("a/b")}}, ErrBadAttach, "bare tracepoint name"},
		{"missing interface", "net.bpf.o", Program{Name: "xdp_count", Attach: Attach{XDP: &XDPAttach{Interface: "bpfload-none0"}}}, ErrAttachTarget, "bpfload-none0"},
		{"bad xdp mode", "net.bpf.o", Program{Name: "xdp_count", Attach: Attach{XDP: &XDPAttach{Interface: "lo", Mode: "turbo"}}}, ErrBadAttach, "generic, driver or offload"},
		{"bad tcx direction", "net.bpf.o", Program{Name: "tc_accept", Attach: Attach{TCX: &TCXAttach{Interface: "lo", Direction: "inbound"}}}, ErrBadAttach, "ingress or egress"},
		{"cgroup not cgroup2", "net.bpf.o", Program{Name: "allow_ingress", Attach: Attach{Cgroup: &CgroupAttach{Path: "/tmp"}}}, ErrAttachTarget, "not a cgroup v2"},
		{"cgroup relative", "net.bpf.o", Program{Name: "allow_ingress", Attach: Attach{Cgroup: &CgroupAttach{Path: "app"}}}, ErrBadAttach, "absolute"},
		{"cgroup for socket filter", "net.bpf.o", Program{Name: "sock_filter", Attach: Attach{Cgroup: &CgroupAttach{Path: "/sys/fs/cgroup/unified"}}}, ErrAttachMismatch, "socket_filter"},
		{"uprobe missing symbol", "tracing.bpf.o", Program{Name: "on_call", Attach: Attach{Uprobe: &UprobeAttach{Binary: "/proc/self/exe", Symbol: "no_such_function_here"}}}, ErrAttachTarget, "no function symbol"},
		{"uprobe relative binary", "tracing.bpf.o", Program{Name: "on_call", Attach: Attach{Uprobe: &UprobeAttach{Binary: "libc.so.6", Symbol: "getpid"}}}, ErrBadAttach, "absolute"},
		{"uprobe with return for entry section", "tracing.bpf.o", Program{Name: "on_call", Attach: Attach{Uprobe: &UprobeAttach{Binary: "/proc/self/exe", Symbol: "main", Return: true}}}, ErrAttachMismatch, "return: false"},
		{"kprobe for uprobe section", "tracing.bpf.o", Program{Name: "on_call", Attach: Attach{Kprobe: &KprobeAttach{Symbol: "do_sys_openat2"}}}, ErrAttachMismatch, "kprobe/kretprobe"},
		{"netfilter family", "net.bpf.o", Program{Name: "nf", Attach: Attach{Netfilter: &NetfilterAttach{Family: "inet", Hook: "local_in"}}}, ErrBadAttach, "ipv4 or ipv6"},
		{"netfilter hook", "net.bpf.o", Program{Name: "nf", Attach: Attach{Netfilter: &NetfilterAttach{Family: "ipv4", Hook: "input"}}}, ErrBadAttach, "local_in"},
		{"netfilter priority", "net.bpf.o", Program{Name: "nf", Attach: Attach{Netfilter: &NetfilterAttach{Family: "ipv4", Hook: "local_in", Priority: -2147483648}}}, ErrBadAttach, "reserved"},
		{"sk_lookup netns missing", "net.bpf.o", Program{Name: "lookup", Attach: Attach{SkLookup: &SkLookupAttach{Netns: "/run/netns/bpfload-none"}}}, ErrAttachTarget, "bpfload-none"},
		{"tracing for tracepoint", "tracing.bpf.o", Program{Name: "count_openat", Attach: Attach{Tracing: &TracingAttach{}}}, ErrAttachMismatch, "tracing programs"},
		{"lsm for fentry", "tracing.bpf.o", Program{Name: "on_unlink", Attach: Attach{LSM: &LSMAttach{}}}, ErrAttachMismatch, "lsm programs"},
		{"no attach", "tracing.bpf.o", Program{Name: "on_switch"}, ErrBadAttach, "no attach kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Prepare(&Request{Object: object(t, c.obj), Programs: []Program{c.prog}})
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			var pe *PrepareError
			if !errors.As(err, &pe) || pe.Program != c.prog.Name {
				t.Errorf("error does not name program %s: %v", c.prog.Name, err)
			}
			if !strings.Contains(err.Error(), c.inText) {
				t.Errorf("error %q lacks %q", err, c.inText)
			}
		})
	}
}

func TestPrepareAcceptsEveryKind(t *testing.T) {
	progs := []Program{
		{Name: "xdp_count", Attach: Attach{XDP: &XDPAttach{Interface: "lo", Mode: "generic"}}},
		{Name: "tc_accept", Attach: Attach{TCX: &TCXAttach{Interface: "lo", Direction: "ingress"}}},
		{Name: "lookup", Attach: Attach{SkLookup: &SkLookupAttach{Netns: "/proc/self/ns/net"}}},
		{Name: "nf", Attach: Attach{Netfilter: &NetfilterAttach{Family: "ipv4", Hook: "local_in", Priority: -128}}},
		{Name: "sock_filter", Attach: Attach{None: true}},
	}
	if _, err := Prepare(&Request{Object: object(t, "net.bpf.o"), Programs: progs}); err != nil {
		t.Fatal(err)
	}
	progs = []Program{
		{Name: "on_unlink", Attach: Attach{Tracing: &TracingAttach{}}},
		{Name: "on_switch_btf", Attach: Attach{Tracing: &TracingAttach{}}},
		{Name: "audit_open", Attach: Attach{LSM: &LSMAttach{}}},
		{Name: "on_open", Attach: Attach{Kprobe: &KprobeAttach{Symbol: "do_sys_openat2"}}},
		{Name: "on_call_multi", Attach: Attach{Uprobe: &UprobeAttach{Binary: "/usr/lib/x86_64-linux-gnu/libc.so.6", Symbol: "getpid"}}},
	}
	if _, err := Prepare(&Request{Object: object(t, "tracing.bpf.o"), Programs: progs}); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareBadObject(t *testing.T) {
	_, err := Prepare(&Request{Object: []byte("not an ELF"), Programs: []Program{{Name: "x", Attach: Attach{None: true}}}})
	if !errors.Is(err, ErrBadObject) {
		t.Errorf("garbage object: %v", err)
	}
}

func TestAttachKinds(t *testing.T) {
	want := "cgroup,kprobe,lsm,netfilter,raw_tracepoint,sk_lookup,tcx,tracepoint,tracing,uprobe,xdp"
	if got := strings.Join(AttachKinds(), ","); got != want {
		t.Errorf("AttachKinds = %s", got)
	}
}

func TestHelperName(t *testing.T) {
	for fn, want := range map[asm.BuiltinFunc]string{
		asm.FnProbeReadKernel:      "bpf_probe_read_kernel",
		asm.FnGetCurrentPidTgid:    "bpf_get_current_pid_tgid",
		asm.FnSkcToTcp6Sock:        "bpf_skc_to_tcp6_sock",
		asm.FnJiffies64:            "bpf_jiffies64",
		asm.FnMapLookupElem:        "bpf_map_lookup_elem",
		asm.FnGetCurrentTaskBtf:    "bpf_get_current_task_btf",
		asm.FnProbeWriteUser:       "bpf_probe_write_user",
		asm.FnSkbLoadBytesRelative: "bpf_skb_load_bytes_relative",
	} {
		if got := HelperName(fn); got != want {
			t.Errorf("HelperName(%v) = %q, want %q", fn, got, want)
		}
	}
}

func TestFacts(t *testing.T) {
	plan, err := Prepare(&Request{Object: object(t, "tracing.bpf.o"), Programs: []Program{
		{Name: "count_openat", Attach: Attach{None: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	f := plan.Facts()
	if len(f) != 1 || f[0].Type != "tracepoint" || len(f[0].Maps) != 1 || f[0].Maps[0].Type != "Array" {
		t.Fatalf("facts %+v", f)
	}
	if strings.Join(f[0].Helpers, ",") != "bpf_map_lookup_elem" {
		t.Errorf("helpers %v", f[0].Helpers)
	}
	if f[0].BackEdges || f[0].SubCalls {
		t.Errorf("no loops or calls expected: %+v", f[0])
	}
}

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/goccy/go-yaml"
	"golang.org/x/sys/unix"
)

// The dry-run expectations below were measured on Linux 6.18.44
// (6.18.44-fc-v669: CONFIG_KPROBES=n, lockdown=integrity, trampolines
// refused) with the dry-run, then checked with real loads: the set loads,
// and every set with one capability fewer fails. Capability rules move
// between kernel versions, so on another major.minor they must be
// measured again.
const dryRunKernel = "6.18"

// dryRunReport is the JSON contract of bpfload --dry-run.
type dryRunReport struct {
	Loadable    bool     `json:"loadable"`
	Required    []string `json:"required_capabilities"`
	Missing     []string `json:"missing"`
	Superfluous []string `json:"superfluous"`
	Programs    []struct {
		Name         string `json:"name"`
		Type         string `json:"type"`
		Attach       string `json:"attach"`
		Capabilities []struct {
			Capability string `json:"capability"`
			Phase      string `json:"phase"`
			Reason     string `json:"reason"`
		} `json:"capabilities"`
	} `json:"programs"`
	Blocked []struct {
		Program string `json:"program"`
		Phase   string `json:"phase"`
		Cause   string `json:"cause"`
	} `json:"blocked"`
	Trials      int      `json:"trials"`
	Unconfirmed []string `json:"unconfirmed"`
	Predicted   []string `json:"predicted_capabilities"`
	Notes       []string `json:"notes"`
}

// dryRun runs bpfload --dry-run --output json PATH (the root-level flag)
// with this env's pin root and state directory in the environment, so a
// stray pin or record would land where the test looks.
func (e *env) dryRun(path string) (dryRunReport, result) {
	e.t.Helper()
	cmd := exec.Command(bin, "--dry-run", "--output", "json", path)
	cmd.Env = append(os.Environ(), "BPFLOAD_PIN_ROOT="+e.pinRoot, "BPFLOAD_STATE_DIR="+e.stateDir)
	return e.decodeDryRun(e.runRaw(cmd))
}

// loadDryRun is dryRun through `bpfload load --dry-run`.
func (e *env) loadDryRun(manifest string) (dryRunReport, result) {
	e.t.Helper()
	return e.decodeDryRun(e.run("load", "--dry-run", "--output", "json", manifest))
}

func (e *env) decodeDryRun(r result) (dryRunReport, result) {
	e.t.Helper()
	var rep dryRunReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.stdout == "" {
		e.t.Fatalf("dry-run output is not a report (exit %d): %v\nstdout: %s\nstderr: %s", r.code, err, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, `"error"`) {
		e.t.Fatalf("dry-run failed (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	return rep, r
}

// requireDryRunKernel guards expectations measured on dryRunKernel.
func requireDryRunKernel(t *testing.T) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(release, ".", 3)
	if len(parts) >= 2 && parts[0]+"."+parts[1] == dryRunKernel {
		return
	}
	msg := fmt.Sprintf("dry-run expectations were measured on Linux %s, this is %s: measure them again on this kernel (see dryrun_test.go)", dryRunKernel, release)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

const (
	capBPF      = "CAP_BPF"
	capPerfmon  = "CAP_PERFMON"
	capNetAdmin = "CAP_NET_ADMIN"
	capSysAdmin = "CAP_SYS_ADMIN"
)

// allCaps is every candidate capability bpfload holds here (root lacks
// CAP_SYS_RESOURCE on this VM): what a blocked program fails with too.
var allCaps = []string{capBPF, "CAP_DAC_READ_SEARCH", "CAP_MAC_ADMIN", capNetAdmin, capPerfmon, capSysAdmin, "CAP_SYS_BOOT"}

// drCase is one object of the dry-run corpus.
type drCase struct {
	name   string
	object string
	// manifest, if set, is the programs: YAML of a manifest to dry-run
	// instead of the bare object (a target the section cannot name).
	manifest string
	// real is the programs: YAML of the verifying loads; CGROUP is
	// replaced by a fresh cgroup. "" means the same as manifest.
	real  string
	netns bool // verify inside a fresh netns, where interface lo exists
	// required is the measured least set; for blocked objects nil.
	required    []string
	unconfirmed []string
	programs    map[string]string // program name: type
	blocked     map[string][]string
	// phase is, for the capabilities beyond CAP_BPF, the step that needs
	// it: map, load or attach, in the report and in the real refusal.
	phase map[string]string
}

// claimsCapability matches a text saying a capability would help.
var claimsCapability = regexp.MustCompile(`(?i)\b(add|grant|needs?|requires?|missing|lacks?|without)\s+(the\s+)?CAP_[A-Z_]+`)

var dryRunCorpus = []drCase{
	{name: "sockfilter", object: "dr_sockfilter.bpf.o", required: []string{capBPF},
		programs: map[string]string{"dr_sockfilter": "socket_filter"},
		real:     "  - name: dr_sockfilter\n    attach: none\n"},
	// bpf_get_current_comm is in bpf_base_func_proto's CAP_PERFMON group.
	{name: "sockfilter-comm", object: "dr_sockfilter_comm.bpf.o", required: []string{capBPF, capPerfmon},
		programs: map[string]string{"dr_sockfilter_comm": "socket_filter"}, phase: map[string]string{capPerfmon: "load"},
		real: "  - name: dr_sockfilter_comm\n    attach: none\n"},
	// Storing the ctx pointer in a map needs allow_ptr_leaks: only the
	// verifier log tells, the prediction cannot.
	{name: "sockfilter-leak", object: "dr_sockfilter_leak.bpf.o", required: []string{capBPF, capPerfmon},
		programs: map[string]string{"dr_sockfilter_leak": "socket_filter"}, phase: map[string]string{capPerfmon: "load"},
		real: "  - name: dr_sockfilter_leak\n    attach: none\n"},
	{name: "tracepoint", object: "dr_tracepoint.bpf.o", required: []string{capBPF, capPerfmon},
		programs: map[string]string{"dr_tracepoint": "tracepoint"}, phase: map[string]string{capPerfmon: "load"},
		real: "  - name: dr_tracepoint\n    attach: {tracepoint: syscalls/sys_enter_getpid}\n"},
	{name: "raw-tracepoint", object: "dr_rawtp.bpf.o", required: []string{capBPF, capPerfmon},
		programs: map[string]string{"dr_rawtp": "raw_tracepoint"}, phase: map[string]string{capPerfmon: "load"},
		real: "  - name: dr_rawtp\n    attach: {raw_tracepoint: sys_enter}\n"},
	{name: "tp-btf", object: "dr_tpbtf.bpf.o", required: []string{capBPF, capPerfmon},
		programs: map[string]string{"dr_tpbtf": "tracing"}, phase: map[string]string{capPerfmon: "load"},
		real: "  - name: dr_tpbtf\n    attach: {tracing: {}}\n"},
	// The uprobe PMU checks CAP_SYS_ADMIN (6.16+), which also passes the
	// load's CAP_BPF and CAP_PERFMON checks.
	{name: "uprobe", object: "dr_uprobe.bpf.o", required: []string{capSysAdmin},
		programs: map[string]string{"dr_uprobe": "kprobe"},
		manifest: "  - name: dr_uprobe\n    attach: {uprobe: {binary: " + libc + ", symbol: getpid}}\n",
		phase:    map[string]string{capSysAdmin: "attach"}},
	// A bare uprobe names no binary: the attach is predicted, not proven.
	{name: "uprobe-bare", object: "dr_uprobe.bpf.o", required: []string{capSysAdmin}, unconfirmed: []string{capSysAdmin},
		programs: map[string]string{"dr_uprobe": "kprobe"}, phase: map[string]string{capSysAdmin: "attach"},
		real: "  - name: dr_uprobe\n    attach: {uprobe: {binary: " + libc + ", symbol: getpid}}\n"},
	{name: "uprobe-multi", object: "dr_uprobe_multi.bpf.o", required: []string{capBPF, capPerfmon},
		programs: map[string]string{"dr_uprobe_multi": "kprobe"}, phase: map[string]string{capPerfmon: "load"},
		manifest: "  - name: dr_uprobe_multi\n    attach: {uprobe: {binary: " + libc + ", symbol: getpid}}\n"},
	{name: "xdp", object: "dr_xdp.bpf.o", required: []string{capBPF, capNetAdmin}, netns: true,
		programs: map[string]string{"dr_xdp": "xdp"}, phase: map[string]string{capNetAdmin: "load"},
		real: "  - name: dr_xdp\n    attach: {xdp: {interface: lo, mode: generic}}\n"},
	{name: "tcx", object: "dr_tcx.bpf.o", required: []string{capBPF, capNetAdmin}, netns: true,
		programs: map[string]string{"dr_tcx": "sched_cls"}, phase: map[string]string{capNetAdmin: "load"},
		real: "  - name: dr_tcx\n    attach: {tcx: {interface: lo, direction: ingress}}\n"},
	// cgroup_skb loads with CAP_BPF; the attach checks CAP_NET_ADMIN.
	{name: "cgroup-skb", object: "dr_cgroup_skb.bpf.o", required: []string{capBPF, capNetAdmin},
		programs: map[string]string{"dr_cgroup_skb": "cgroup_skb"}, phase: map[string]string{capNetAdmin: "attach"},
		real: "  - name: dr_cgroup_skb\n    attach: {cgroup: {path: CGROUP}}\n"},
	{name: "cgroup-skb-unattached", object: "dr_cgroup_skb.bpf.o", required: []string{capBPF},
		programs: map[string]string{"dr_cgroup_skb": "cgroup_skb"},
		manifest: "  - name: dr_cgroup_skb\n    attach: none\n"},
	{name: "cgroup-connect4", object: "dr_connect4.bpf.o", required: []string{capBPF, capNetAdmin},
		programs: map[string]string{"dr_connect4": "cgroup_sock_addr"}, phase: map[string]string{capNetAdmin: "load"},
		real: "  - name: dr_connect4\n    attach: {cgroup: {path: CGROUP}}\n"},
	{name: "sk-reuseport", object: "dr_reuseport.bpf.o", required: []string{capBPF},
		programs: map[string]string{"dr_reuseport": "sk_reuseport"},
		real:     "  - name: dr_reuseport\n    attach: none\n"},
	{name: "ringbuf", object: "dr_ringbuf.bpf.o", required: []string{capBPF},
		programs: map[string]string{"dr_ringbuf": "socket_filter"},
		real:     "  - name: dr_ringbuf\n    attach: none\n"},
	// A socket filter needs CAP_BPF only, but its DEVMAP needs
	// CAP_NET_ADMIN to be created.
	{name: "devmap", object: "dr_devmap.bpf.o", required: []string{capBPF, capNetAdmin},
		programs: map[string]string{"dr_devmap": "socket_filter"}, phase: map[string]string{capNetAdmin: "map"},
		real: "  - name: dr_devmap\n    attach: none\n"},
	{name: "mixed", object: "dr_mixed.bpf.o", required: []string{capBPF, capNetAdmin, capPerfmon}, netns: true,
		programs: map[string]string{"dr_mix_xdp_prog": "xdp", "dr_mix_sock_prog": "socket_filter",
			"dr_mix_tp_prog": "tracepoint", "dr_mix_rawtp_prog": "raw_tracepoint"},
		phase: map[string]string{capNetAdmin: "load", capPerfmon: "load"},
		real: "  - name: dr_mix_xdp_prog\n    attach: {xdp: {interface: lo, mode: generic}}\n" +
			"  - name: dr_mix_sock_prog\n    attach: none\n" +
			"  - name: dr_mix_tp_prog\n    attach: {tracepoint: syscalls/sys_enter_getppid}\n" +
			"  - name: dr_mix_rawtp_prog\n    attach: {raw_tracepoint: sys_exit}\n"},
	// Blocked: lockdown (integrity) refuses bpf_probe_write_user even with
	// CAP_SYS_ADMIN; this kernel refuses fentry and lsm loads outright.
	{name: "probe-write-user", object: "dr_probe_write_user.bpf.o",
		programs: map[string]string{"dr_write_user": "raw_tracepoint"},
		blocked:  map[string][]string{"dr_write_user": {"lockdown", "bpf_probe_write_user", "not a capability"}},
		real:     "  - name: dr_write_user\n    attach: {raw_tracepoint: sys_enter}\n"},
	{name: "fentry", object: "dr_fentry.bpf.o",
		programs: map[string]string{"dr_fentry": "tracing"},
		blocked:  map[string][]string{"dr_fentry": {"not a capability", "trampolines"}},
		real:     "  - name: dr_fentry\n    attach: {tracing: {}}\n"},
	{name: "lsm", object: "dr_lsm.bpf.o",
		programs: map[string]string{"dr_lsm": "lsm"},
		blocked:  map[string][]string{"dr_lsm": {"not a capability", "trampolines"}},
		real:     "  - name: dr_lsm\n    attach: {lsm: {}}\n"},
}

func TestDryRunCorpus(t *testing.T) {
	requireRoot(t)
	requireDryRunKernel(t)
	for _, c := range dryRunCorpus {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			path := filepath.Join(testdata, c.object)
			if c.manifest != "" {
				path = e.manifest("dr.yaml", "dr-"+c.name, c.object, capsYAML(c.required)+"programs:\n"+c.manifest)
			}
			rep, r := e.dryRun(path)
			checkDryRun(t, c, rep, r)
			e.assertNothingLoaded()
			verifyByLoading(t, e, c)
		})
	}
}

func capsYAML(set []string) string {
	return "capabilities: [" + strings.Join(set, ", ") + "]\n"
}

// checkDryRun compares a dry-run's report with the measured truth.
func checkDryRun(t *testing.T, c drCase, rep dryRunReport, r result) {
	t.Helper()
	wantExit := 0
	if len(c.blocked) > 0 {
		wantExit = 12
	}
	if r.code != wantExit {
		t.Errorf("exit %d, want %d\n%s\n%s", r.code, wantExit, r.stdout, r.stderr)
	}
	if !slices.Equal(rep.Required, orEmpty(c.required)) {
		t.Errorf("required_capabilities %v, measured %v\n%s", rep.Required, c.required, r.stdout)
	}
	if !slices.IsSorted(rep.Required) {
		t.Errorf("required_capabilities not sorted: %v", rep.Required)
	}
	if !slices.Equal(rep.Unconfirmed, orEmpty(c.unconfirmed)) {
		t.Errorf("unconfirmed %v, want %v", rep.Unconfirmed, c.unconfirmed)
	}
	if rep.Loadable != (len(c.blocked) == 0) {
		t.Errorf("loadable %v, want %v", rep.Loadable, len(c.blocked) == 0)
	}
	if len(rep.Missing) != 0 || len(rep.Superfluous) != 0 {
		t.Errorf("missing %v, superfluous %v: want none", rep.Missing, rep.Superfluous)
	}
	phases := map[string][]string{}
	got := map[string]string{}
	for _, p := range rep.Programs {
		got[p.Name] = p.Type
		for _, n := range p.Capabilities {
			phases[n.Capability] = append(phases[n.Capability], n.Phase)
			if !slices.Contains(rep.Required, n.Capability) {
				t.Errorf("program %s lists %s, which is not in the required set %v", p.Name, n.Capability, rep.Required)
			}
		}
		if c.blocked[p.Name] != nil && len(p.Capabilities) > 0 {
			t.Errorf("blocked program %s lists capabilities %v", p.Name, p.Capabilities)
		}
	}
	// Every required capability comes with a reason.
	for _, cp := range rep.Required {
		if len(phases[cp]) == 0 {
			t.Errorf("%s is required, but no program gives a reason for it", cp)
		}
	}
	for cp, ph := range c.phase {
		if !slices.Contains(phases[cp], ph) {
			t.Errorf("%s: phases %v, measured %s", cp, phases[cp], ph)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(c.programs) {
		t.Errorf("programs %v, want %v", got, c.programs)
	}
	if len(rep.Blocked) != len(c.blocked) {
		t.Errorf("blocked %+v, want %v", rep.Blocked, c.blocked)
	}
	for _, b := range rep.Blocked {
		words, ok := c.blocked[b.Program]
		if !ok {
			t.Errorf("program %s blocked (%s): %s", b.Program, b.Phase, b.Cause)
			continue
		}
		if b.Phase != "load" {
			t.Errorf("%s blocked at %q, want load", b.Program, b.Phase)
		}
		for _, w := range words {
			if !strings.Contains(b.Cause, w) {
				t.Errorf("%s: cause does not say %q: %s", b.Program, w, b.Cause)
			}
		}
		if m := claimsCapability.FindString(b.Cause); m != "" {
			t.Errorf("%s: blocked, yet the cause claims a capability would help (%q): %s", b.Program, m, b.Cause)
		}
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// verifyByLoading proves the measured set with real loads: it loads, and
// each set with one capability fewer is refused; as the kernel's checks
// are monotonic, no smaller set can work then. Dropping CAP_SYS_ADMIN
// also tries CAP_BPF and CAP_PERFMON in its place, which it subsumes. A
// blocked program must fail even with every capability.
func verifyByLoading(t *testing.T, e *env, c drCase) {
	t.Helper()
	programs := c.real
	if programs == "" {
		programs = c.manifest
	}
	if strings.Contains(programs, "CGROUP") {
		programs = strings.ReplaceAll(programs, "CGROUP", newCgroup(t))
	}
	ns := ""
	if c.netns {
		ns = newNetns(t)
	}
	load := func(set []string) result {
		name := fmt.Sprintf("dr-%s-%d", c.name, nextSerial())
		m := e.manifest(name+".yaml", name, c.object, capsYAML(set)+"programs:\n"+programs)
		var r result
		if ns != "" {
			// nsenter, unlike ip netns exec, keeps the mounts (tracefs).
			r = e.runRaw(exec.Command("nsenter", "--net=/run/netns/"+ns, bin, "load", "--pin-root", e.pinRoot, "--state-dir", e.stateDir, "--allow-unsigned", m))
		} else {
			r = e.run("load", "--allow-unsigned", m)
		}
		if r.code == 0 {
			if u := e.run("unload", name); u.code != 0 {
				t.Fatalf("unload %s: exit %d\n%s", name, u.code, u.stderr)
			}
		}
		e.assertNothingLoaded()
		return r
	}
	if len(c.blocked) > 0 {
		r := load(allCaps)
		wantFailure(t, r, 4, "BPFLOAD-E032")
		return
	}
	if r := load(c.required); r.code != 0 {
		t.Fatalf("real load with the measured set %v: exit %d\n%s%s", c.required, r.code, r.stdout, r.stderr)
	}
	for _, drop := range c.required {
		sets := [][]string{slices.DeleteFunc(slices.Clone(c.required), func(s string) bool { return s == drop })}
		if drop == capSysAdmin {
			sets = append(sets, append(slices.Clone(sets[0]), capBPF, capPerfmon))
		}
		for i, set := range sets {
			r := load(set)
			t.Logf("with %v: exit %d: %s", set, r.code, firstLine(r.stderr, "BPFLOAD-E"))
			// E031: the kernel refused for a capability the manifest lacks.
			if r.code != 4 || !strings.Contains(r.stderr, "BPFLOAD-E031") {
				t.Errorf("real load with %v: want exit 4 with BPFLOAD-E031, got exit %d\n%s%s", set, r.code, r.stdout, r.stderr)
			}
			// The last set lacks drop alone, so the refusal shows its step.
			if ph := c.phase[drop]; ph != "" && i == len(sets)-1 && !strings.Contains(firstLine(r.stderr, "BPFLOAD-E"), phaseWords[ph]) {
				t.Errorf("without %s the kernel refused at another step than %s: %s", drop, ph, firstLine(r.stderr, "BPFLOAD-E"))
			}
		}
	}
}

// phaseWords is how bpfload's errors name each step.
var phaseWords = map[string]string{"map": ": map create:", "load": ": program load:", "attach": ": attach "}

// A manifest that asks for exactly the required set exits 0; one missing
// a capability exits 10 and names it; one with an extra exits 11 and names
// it; `bpfload load --dry-run` answers the same as the root flag.
func TestDryRunManifestVerdicts(t *testing.T) {
	e := newEnv(t)
	const object = "dr_sockfilter_comm.bpf.o"
	bare, r := e.dryRun(filepath.Join(testdata, object))
	if r.code != 0 || len(bare.Required) < 2 {
		t.Fatalf("bare dry-run: exit %d, required %v (want two or more)\n%s", r.code, bare.Required, r.stdout)
	}
	extra := capNetAdmin
	if slices.Contains(bare.Required, extra) {
		t.Fatalf("%s is required here; pick another extra", extra)
	}
	progs := "programs:\n  - name: dr_sockfilter_comm\n    attach: none\n"
	cases := []struct {
		name                 string
		caps                 []string
		exit                 int
		missing, superfluous []string
	}{
		{"exact", bare.Required, 0, nil, nil},
		{"missing", bare.Required[1:], 10, bare.Required[:1], nil},
		{"superfluous", append(slices.Clone(bare.Required), extra), 11, nil, []string{extra}},
	}
	for _, c := range cases {
		m := e.manifest(c.name+".yaml", "verdict-"+c.name, object, capsYAML(c.caps)+progs)
		for _, via := range []string{"root flag", "load --dry-run"} {
			var rep dryRunReport
			if via == "root flag" {
				rep, r = e.dryRun(m)
			} else {
				rep, r = e.loadDryRun(m)
			}
			if r.code != c.exit {
				t.Errorf("%s via %s: exit %d, want %d\n%s%s", c.name, via, r.code, c.exit, r.stdout, r.stderr)
			}
			if !slices.Equal(rep.Required, bare.Required) {
				t.Errorf("%s via %s: required %v, the bare object's %v", c.name, via, rep.Required, bare.Required)
			}
			if !slices.Equal(rep.Missing, orEmpty(c.missing)) || !slices.Equal(rep.Superfluous, orEmpty(c.superfluous)) {
				t.Errorf("%s via %s: missing %v superfluous %v, want %v and %v", c.name, via, rep.Missing, rep.Superfluous, c.missing, c.superfluous)
			}
		}
	}
	e.assertNothingLoaded()
}

// leftovers is what a dry-run could leave behind in the kernel and on
// the host.
type leftovers struct {
	progs, links map[uint32]bool
	netnsNames   string
	netns        int
	scratch      []string
	mounts       []string
}

func snapshot(t *testing.T) leftovers {
	t.Helper()
	l := leftovers{progs: map[uint32]bool{}, links: map[uint32]bool{}}
	for id := range programIDs(t) {
		l.progs[uint32(id)] = true
	}
	var it link.Iterator
	for it.Next() {
		l.links[uint32(it.ID)] = true
	}
	if err := it.Err(); err != nil {
		t.Fatalf("list links: %v", err)
	}
	l.netnsNames = sh(t, "ip", "netns", "list")
	l.netns = countNetns()
	l.scratch = scratchCgroups(t)
	l.mounts = bpfMounts(t)
	return l
}

// bpfMounts lists the mounts of the kinds bpfload's code may make
// (diagnostics mount securityfs for a moment to read lockdown), outside
// the temporary directories tests mount bpffs in.
func bpfMounts(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		i := slices.Index(f, "-")
		if i < 0 || i+1 >= len(f) || strings.HasPrefix(f[4], os.TempDir()) {
			continue
		}
		switch f[i+1] {
		case "securityfs", "tracefs", "bpf", "cgroup2":
			out = append(out, f[4]+" "+f[i+1])
		}
	}
	return out
}

// countNetns counts the distinct network namespaces of all processes.
func countNetns() int {
	seen := map[string]bool{}
	paths, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, p := range paths {
		if target, err := os.Readlink(p); err == nil {
			seen[target] = true
		}
	}
	return len(seen)
}

// scratchCgroups lists the dry-run's scratch cgroups.
func scratchCgroups(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(cgroup2Root, "bpfload-dryrun-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// trialProcesses lists live trial children of the binary under test.
func trialProcesses() []string {
	var out []string
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 && args[0] == bin && args[1] == "__dryrun-trial" {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}

// assertNothingLeft compares the host with before, after the dry-run
// process is gone. Children and netns go with some delay after a kill.
func (e *env) assertNothingLeft(before leftovers) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var now leftovers
	for {
		now = snapshot(e.t)
		settled := len(trialProcesses()) == 0 && now.netns <= before.netns && len(newIDs(before.progs, now.progs)) == 0 &&
			len(newIDs(before.links, now.links)) == 0
		if settled || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p := trialProcesses(); len(p) > 0 {
		e.t.Errorf("trial processes still running: %v", p)
	}
	if ids := newIDs(before.progs, now.progs); len(ids) > 0 {
		e.t.Errorf("programs left loaded: %v", ids)
	}
	if ids := newIDs(before.links, now.links); len(ids) > 0 {
		e.t.Errorf("links left: %v", ids)
	}
	if now.netnsNames != before.netnsNames {
		e.t.Errorf("ip netns list changed:\nbefore: %s\nafter: %s", before.netnsNames, now.netnsNames)
	}
	if now.netns != before.netns {
		e.t.Errorf("distinct network namespaces: %d before, %d after", before.netns, now.netns)
	}
	if !slices.Equal(now.mounts, before.mounts) {
		e.t.Errorf("mounts: %v before, %v after", before.mounts, now.mounts)
	}
	if !slices.Equal(now.scratch, before.scratch) {
		e.t.Errorf("scratch cgroups: %v before, %v after", before.scratch, now.scratch)
	}
	for _, dir := range []string{e.pinRoot, e.stateDir} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			e.t.Errorf("%s exists after a dry-run (%v)", dir, err)
		}
	}
}

func newIDs(before, now map[uint32]bool) []uint32 {
	var ids []uint32
	for id := range now {
		if !before[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// A dry-run that completes leaves no program, link, pin, state, network
// namespace, scratch cgroup or trial process behind.
func TestDryRunLeavesNothing(t *testing.T) {
	e := newEnv(t)
	before := snapshot(t)
	if len(before.scratch) > 0 {
		t.Fatalf("scratch cgroups exist before the test: %v", before.scratch)
	}
	// Networking (scratch netns and cgroup), tracing and a real uprobe.
	for _, obj := range []string{"dr_mixed.bpf.o", "dr_cgroup_skb.bpf.o", "dr_connect4.bpf.o"} {
		if _, r := e.dryRun(filepath.Join(testdata, obj)); r.code != 0 {
			t.Fatalf("dry-run %s: exit %d\n%s%s", obj, r.code, r.stdout, r.stderr)
		}
	}
	m := e.manifest("up.yaml", "dr-uprobe", "dr_uprobe.bpf.o", capsYAML([]string{capSysAdmin})+
		"programs:\n  - name: dr_uprobe\n    attach: {uprobe: {binary: "+libc+", symbol: getpid}}\n")
	if _, r := e.dryRun(m); r.code != 0 {
		t.Fatalf("dry-run %s: exit %d\n%s%s", m, r.code, r.stdout, r.stderr)
	}
	e.assertNothingLeft(before)
}

// midway is a dry-run process stopped between two of its trials.
type midway struct {
	cmd     *exec.Cmd
	done    chan error
	out     *strings.Builder
	scratch string
}

// startDryRunMidway starts a dry-run of the mixed object and stops it
// (SIGSTOP) while its scratch cgroup exists, that is between its first
// and last trial. ok is false when the run ended before it was caught.
func startDryRunMidway(t *testing.T, e *env) (m midway, ok bool) {
	t.Helper()
	m.cmd = exec.Command(bin, "--dry-run", "--output", "json", filepath.Join(testdata, "dr_mixed.bpf.o"))
	m.cmd.Env = append(os.Environ(), "BPFLOAD_PIN_ROOT="+e.pinRoot, "BPFLOAD_STATE_DIR="+e.stateDir)
	m.out = &strings.Builder{}
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.done = make(chan error, 1)
	go func() { m.done <- m.cmd.Wait() }()
	// A test that stops early must not leave it stopped.
	t.Cleanup(func() { _ = m.cmd.Process.Kill() })
	m.scratch = filepath.Join(cgroup2Root, "bpfload-dryrun-"+strconv.Itoa(m.cmd.Process.Pid))
	for {
		select {
		case err := <-m.done:
			m.done <- err
			return m, false
		default:
		}
		if _, err := os.Stat(m.scratch); err != nil {
			continue
		}
		if err := m.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		waitStopped(t, m.cmd.Process.Pid)
		// Stopped with its scratch cgroup still there: mid-run for sure.
		if _, err := os.Stat(m.scratch); err == nil {
			return m, true
		}
		_ = m.cmd.Process.Signal(syscall.SIGCONT)
		return m, false
	}
}

func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// The state follows the parenthesised command name.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "T" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not stop", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// A dry-run killed with SIGTERM in the middle of its trials removes its
// trial processes and scratch cgroup and leaves nothing loaded.
func TestDryRunSIGTERMLeavesNothing(t *testing.T) {
	e := newEnv(t)
	before := snapshot(t)
	for attempt := 0; ; attempt++ {
		if attempt == 10 {
			t.Fatal("never caught a dry-run between two trials in 10 attempts")
		}
		m, ok := startDryRunMidway(t, e)
		if !ok {
			<-m.done
			continue
		}
		if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = m.cmd.Process.Signal(syscall.SIGCONT)
		ee, failed := (<-m.done).(*exec.ExitError)
		if !failed {
			// The stop fell after its last trial, so it completed.
			continue
		}
		if ee.ExitCode() != 1 || !strings.Contains(m.out.String(), "interrupted") {
			t.Errorf("after SIGTERM: exit %d, want 1 with \"interrupted\"\n%s", ee.ExitCode(), m.out)
		}
		t.Logf("stopped between two trials at attempt %d, then SIGTERM: %s", attempt+1, firstLine(m.out.String(), "interrupted"))
		break
	}
	e.assertNothingLeft(before)
}

// A dry-run killed with SIGKILL cannot clean up its scratch cgroup; its
// trial children die with it, and the next dry-run removes the cgroup.
func TestDryRunSIGKILLStaleCgroup(t *testing.T) {
	e := newEnv(t)
	before := snapshot(t)
	var scratch string
	for attempt := 0; ; attempt++ {
		if attempt == 10 {
			t.Fatal("never caught a dry-run between two trials in 10 attempts")
		}
		m, ok := startDryRunMidway(t, e)
		if !ok {
			<-m.done
			continue
		}
		scratch = m.scratch
		t.Cleanup(func() { _ = os.Remove(scratch) })
		if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-m.done
		break
	}
	if _, err := os.Stat(scratch); err != nil {
		t.Fatalf("the killed dry-run's scratch cgroup %s is gone already (%v): the test did not kill it midway", scratch, err)
	}
	if _, r := e.dryRun(filepath.Join(testdata, "dr_sockfilter.bpf.o")); r.code != 0 {
		t.Fatalf("next dry-run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("the next dry-run did not remove the stale scratch cgroup %s (%v)", scratch, err)
	}
	e.assertNothingLeft(before)
}

// The prediction is proven, not searched for: an object the rules table
// predicts right takes one trial to confirm the set and one per
// capability to show it necessary.
func TestDryRunTrialCount(t *testing.T) {
	e := newEnv(t)
	for _, obj := range []string{"dr_sockfilter.bpf.o", "dr_tracepoint.bpf.o", "dr_xdp.bpf.o", "dr_cgroup_skb.bpf.o", "dr_mixed.bpf.o"} {
		rep, r := e.dryRun(filepath.Join(testdata, obj))
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", obj, r.code, r.stdout)
		}
		if !slices.Equal(rep.Predicted, rep.Required) {
			t.Errorf("%s: predicted %v, required %v: the prediction should be right here", obj, rep.Predicted, rep.Required)
			continue
		}
		if limit := len(rep.Required) + 2; rep.Trials > limit || rep.Trials < 1 {
			t.Errorf("%s: %d trials for %v, want 1 to %d", obj, rep.Trials, rep.Required, limit)
		}
	}
}

// initManifest is the part of a manifest bpfload init must fill in.
type initManifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
	Object     struct {
		Path   string `yaml:"path"`
		SHA256 string `yaml:"sha256"`
	} `yaml:"object"`
	Capabilities []string `yaml:"capabilities"`
	Programs     []struct {
		Name   string `yaml:"name"`
		Attach any    `yaml:"attach"`
	} `yaml:"programs"`
}

// bpfload init writes a skeleton that is a valid manifest: the object's
// digest, every program with the attach its section implies, and the
// capabilities a dry-run finds; a dry-run of the skeleton accepts them.
func TestDryRunInitSkeleton(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		object, name string
		attach       map[string]string // program: attach, rendered with %v
		changeMe     bool
	}{
		{"dr_mixed.bpf.o", "dr-mixed", map[string]string{
			"dr_mix_xdp_prog":   "map[xdp:map[interface:eth0 mode:generic]]",
			"dr_mix_sock_prog":  "none",
			"dr_mix_tp_prog":    "map[tracepoint:syscalls/sys_enter_getppid]",
			"dr_mix_rawtp_prog": "map[raw_tracepoint:sys_exit]",
		}, true},
		{"dr_connect4.bpf.o", "dr-connect4", map[string]string{
			"dr_connect4": "map[cgroup:map[path:/sys/fs/cgroup]]",
		}, true},
		{"dr_tpbtf.bpf.o", "dr-tpbtf", map[string]string{"dr_tpbtf": "map[tracing:map[]]"}, false},
	}
	for _, c := range cases {
		obj, err := os.ReadFile(filepath.Join(testdata, c.object))
		if err != nil {
			t.Fatal(err)
		}
		objPath := filepath.Join(e.dir, c.object)
		if err := os.WriteFile(objPath, obj, 0o644); err != nil {
			t.Fatal(err)
		}
		bare, r := e.dryRun(objPath)
		if r.code != 0 {
			t.Fatalf("dry-run %s: exit %d\n%s", c.object, r.code, r.stdout)
		}
		out := filepath.Join(e.dir, c.name+".yaml")
		if r := e.runRaw(exec.Command(bin, "init", "--out", out, objPath)); r.code != 0 {
			t.Fatalf("init %s: exit %d\n%s%s", c.object, r.code, r.stdout, r.stderr)
		}
		text, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var m initManifest
		// Not strict: bpfload's own strict parser judges it below.
		if err := yaml.Unmarshal(text, &m); err != nil {
			t.Fatalf("%s: skeleton does not parse: %v\n%s", c.object, err, text)
		}
		sum := sha256.Sum256(obj)
		if m.APIVersion != "bpfload/v1" || m.Kind != "Manifest" || m.Name != c.name || m.Object.Path != c.object || m.Object.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: header %+v, want name %s, path %s, sha256 %x", c.object, m, c.name, c.object, sum)
		}
		if !slices.Equal(m.Capabilities, bare.Required) {
			t.Errorf("%s: skeleton capabilities %v, dry-run %v", c.object, m.Capabilities, bare.Required)
		}
		got := map[string]string{}
		for _, p := range m.Programs {
			got[p.Name] = fmt.Sprint(p.Attach)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.attach) {
			t.Errorf("%s: programs and attach %v, want %v\n%s", c.object, got, c.attach, text)
		}
		if strings.Contains(string(text), "CHANGE-ME:") != c.changeMe {
			t.Errorf("%s: CHANGE-ME marks: want %v\n%s", c.object, c.changeMe, text)
		}
		// The skeleton, unedited, is a manifest a dry-run accepts as is.
		rep, r := e.decodeDryRun(e.run("load", "--allow-unsigned", "--dry-run", "--output", "json", out))
		if r.code != 0 || !slices.Equal(rep.Required, m.Capabilities) || len(rep.Missing)+len(rep.Superfluous) != 0 {
			t.Errorf("%s: dry-run of the skeleton: exit %d, required %v, missing %v, superfluous %v", c.object, r.code, rep.Required, rep.Missing, rep.Superfluous)
		}
	}
	e.assertNothingLoaded()
	if _, err := os.Stat(e.pinRoot); !os.IsNotExist(err) {
		t.Errorf("pin root exists after init and dry-runs: %v", err)
	}
}

// A manifest whose attach target does not exist is a manifest error for
// a dry-run as for a load (E018, exit 3), not an internal one: an unedited
// init skeleton's CHANGE-ME uprobe is one.
func TestDryRunMissingTarget(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ object, programs, target string }{
		{"dr_uprobe.bpf.o", "  - name: dr_uprobe\n    attach: {uprobe: {binary: /CHANGE/ME/binary, symbol: CHANGE_ME}}\n", "/CHANGE/ME/binary"},
		{"dr_tracepoint.bpf.o", "  - name: dr_tracepoint\n    attach: {tracepoint: syscalls/sys_enter_nosuchcall}\n", "sys_enter_nosuchcall"},
	} {
		m := e.manifest("missing.yaml", "missing-target", c.object, capsYAML([]string{capSysAdmin})+"programs:\n"+c.programs)
		// What load itself says, before any capability is raised.
		wantFailure(t, e.run("load", "--allow-unsigned", m), 3, "BPFLOAD-E018", c.target)
		cmd := exec.Command(bin, "--dry-run", m)
		cmd.Env = append(os.Environ(), "BPFLOAD_PIN_ROOT="+e.pinRoot, "BPFLOAD_STATE_DIR="+e.stateDir)
		r := e.runRaw(cmd)
		if r.code != 3 || !strings.Contains(r.stderr, "BPFLOAD-E018") || !strings.Contains(r.stderr, c.target) {
			t.Errorf("dry-run of %s with a missing target: want exit 3 with BPFLOAD-E018 naming %s, got exit %d\n%s%s", c.object, c.target, r.code, r.stdout, r.stderr)
		}
		r = e.run("load", "--dry-run", m)
		if r.code != 3 || !strings.Contains(r.stderr, "BPFLOAD-E018") {
			t.Errorf("load --dry-run of %s with a missing target: want exit 3 with BPFLOAD-E018, got exit %d\n%s%s", c.object, r.code, r.stdout, r.stderr)
		}
	}
	e.assertNothingLoaded()
}

func firstLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

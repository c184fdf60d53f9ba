package diag

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/rules"
	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Context is what Explain needs to know about the load that failed.
type Context struct {
	// Granted is the set the manifest granted (and bpfload held).
	Granted caps.Set
	// Manifest is the manifest's path, for fixes.
	Manifest string
	// Where returns the manifest location of a program, or "".
	Where func(program string) string
}

// Explain turns an error from loader.Plan.Load or loader.Loaded.Pin into
// an Error that names the program, the operation, the capability the
// kernel checks there and whether the manifest granted it, or the cause
// that is not a capability.
func Explain(err error, ctx Context) *Error {
	var se *loader.StepError
	if !errors.As(err, &se) {
		return Wrap(EInternal, err)
	}
	e := &Error{Msg: Clean(se.Error()), Err: err}
	if ctx.Where != nil && se.Program != "" {
		e.Where = ctx.Where(se.Program)
	}
	t := rules.MustLoad()
	switch se.Op {
	case loader.OpProgLoad:
		explainProgLoad(e, se, ctx, t)
	case loader.OpMapCreate, loader.OpMapPopulate:
		explainMapCreate(e, se, ctx, t)
	case loader.OpAttach:
		explainAttach(e, se, ctx, t)
	case loader.OpPin:
		explainPin(e, se)
	default:
		e.Code = EInternal
	}
	return e
}

func isPerm(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// needs turns rule capability names into a Set, and says which of them
// the manifest did not grant.
func needs(names []string, granted caps.Set) (want, missing caps.Set) {
	want, _ = caps.Parse(names)
	// CAP_SYS_ADMIN passes every CAP_BPF and CAP_PERFMON check.
	if granted.Has(mustSet("CAP_SYS_ADMIN")) {
		want = want.Minus(mustSet("CAP_BPF", "CAP_PERFMON"))
	}
	return want, want.Minus(granted)
}

func mustSet(names ...string) caps.Set {
	s, err := caps.Parse(names)
	if err != nil {
		panic(err)
	}
	return s
}

func (e *Error) missingCap(missing caps.Set, op, evidence string, ctx Context) {
	e.Code = EMissingCap
	e.Missing = missing
	e.Cause = fmt.Sprintf("Linux checks %s for %s (%s); the manifest does not grant it", missing, op, evidence)
	e.Fix = append(e.Fix, fmt.Sprintf("add %s to capabilities: in %s and sign the manifest again", strings.Join(missing.Names(), ", "), manifestName(ctx)))
}

func (e *Error) refused(granted caps.Set, op string, hints ...string) {
	e.Code = ERefused
	e.Cause = fmt.Sprintf("the kernel refused %s although %s were held, every capability Linux checks there: the cause is not a capability", op, granted)
	e.Fix = append(e.Fix, hints...)
	if b := ProbeEnv().BlockersFor(op + " " + strings.Join(hints, " ")); len(b) > 0 {
		e.Fix = append(e.Fix, "on this host: "+strings.Join(b, "; "))
	}
	e.Fix = append(e.Fix,
		"check LSM denials (SELinux, AppArmor, BPF LSM) in the kernel log: dmesg | tail")
}

func manifestName(ctx Context) string {
	if ctx.Manifest == "" {
		return "the manifest"
	}
	return ctx.Manifest
}

func explainProgLoad(e *Error, se *loader.StepError, ctx Context, t *rules.Table) {
	e.Detail = se.VerifierLog
	if m, ok := t.MatchVerifier(se.VerifierLog); ok {
		want, missing := needs(m.Capabilities, ctx.Granted)
		if missing != 0 {
			op := "this program"
			if m.Helper != "" {
				op = "the helper " + m.Helper
			}
			e.missingCap(missing, op, m.Reason, ctx)
			e.Cause += "; the verifier said: " + strings.TrimSpace(m.Line)
			if m.Rule.Hint {
				e.Cause = fmt.Sprintf("the verifier gave up (%s); %s. Granting %s usually fixes it", strings.TrimSpace(m.Line), m.Reason, missing)
			}
			return
		}
		if m.Helper == "bpf_probe_write_user" {
			e.refused(want, "bpf_probe_write_user", "kernel lockdown (integrity or confidentiality) forbids bpf_probe_write_user whatever the capabilities")
			return
		}
	}
	rule, hasRule := t.Program(se.ProgramType)
	loadCaps := append([]string{}, t.Baseline.Capabilities...)
	if hasRule {
		loadCaps = append(loadCaps, rule.Load...)
	}
	_, missing := needs(loadCaps, ctx.Granted)
	permLike := isPerm(se.Err) || (errors.Is(se.Err, ebpf.ErrNotSupported) && missing != 0)
	switch {
	case permLike && missing != 0:
		ev := t.Baseline.Evidence
		if hasRule {
			ev = rule.Evidence
		}
		e.missingCap(missing, "loading a "+se.ProgramType+" program", ev, ctx)
	case isPerm(se.Err) && len(se.VerifierLog) == 0:
		e.refused(ctx.Granted, "loading "+se.ProgramType+" program "+se.Program,
			"an EPERM with an empty verifier log while CAP_BPF and the type's capability are held is platform policy: this kernel may refuse trampolines (fentry/fexit/lsm) or the program type altogether")
	case len(se.VerifierLog) > 0:
		e.Code = EVerifier
		e.Cause = "the verifier rejected the program: " + lastLines(se.VerifierLog, 2)
		e.Fix = append(e.Fix, "fix the program's source; run with --verbose for the whole verifier log")
	default:
		e.Code = EVerifier
		e.Cause = "the kernel did not accept the program (" + errnoText(se.Err) + ")"
	}
}

func explainMapCreate(e *Error, se *loader.StepError, ctx Context, t *rules.Table) {
	rule, ok := t.Map(se.MapType)
	if isPerm(se.Err) || errors.Is(se.Err, ebpf.ErrNotSupported) {
		names := append([]string{}, t.Baseline.Capabilities...)
		ev := t.Baseline.Evidence
		if ok {
			names, ev = rule.Create, rule.Evidence
		}
		if _, missing := needs(names, ctx.Granted); missing != 0 {
			e.missingCap(missing, "creating a "+se.MapType+" map", ev, ctx)
			return
		}
		if isPerm(se.Err) {
			e.refused(ctx.Granted, "creating map "+se.Map)
			return
		}
	}
	e.Code = EMapCreate
	e.Cause = "the kernel refused the map definition (" + errnoText(se.Err) + ")"
	if errors.Is(se.Err, unix.EINVAL) {
		e.Fix = append(e.Fix, "check the map's key size, value size and max_entries in the object: a map left without max_entries cannot be created")
	}
}

func explainAttach(e *Error, se *loader.StepError, ctx Context, t *rules.Table) {
	var pe *os.PathError
	if se.AttachKind == "tracepoint" && errors.As(se.Err, &pe) && isPerm(pe.Err) && strings.Contains(pe.Path, "tracing") {
		e.Code = ETracefs
		e.Cause = fmt.Sprintf("attaching a tracepoint reads its ID from %s, which tracefs lets only root read by default", pe.Path)
		e.Fix = append(e.Fix,
			"mount tracefs with a group that may read it: mount -o remount,gid=GID,mode=0750 /sys/kernel/tracing (and make events readable)",
			"or add CAP_DAC_READ_SEARCH to the manifest's capabilities so bpfload can read tracefs while loading",
			"or use a raw_tracepoint or tp_btf program, which needs no tracefs")
		return
	}
	rule, ok := t.AttachFor(se.AttachKind, se.ProgramType, se.Section)
	if isPerm(se.Err) || (se.AttachKind == "cgroup" && se.ProgramType == "cgroup_skb" && errors.Is(se.Err, unix.EINVAL)) {
		if ok {
			if _, missing := needs(rule.Capabilities, ctx.Granted); missing != 0 {
				e.missingCap(missing, rule.Operation, rule.Evidence, ctx)
				if se.AttachKind == "uprobe" {
					e.Fix = append(e.Fix, "or put the program in a SEC(\"uprobe.multi\") section: a uprobe_multi link (Linux 6.6+) needs no CAP_SYS_ADMIN")
				}
				return
			}
		}
		if isPerm(se.Err) {
			e.refused(ctx.Granted, "attach "+se.AttachKind)
			return
		}
	}
	e.Code = EAttach
	e.Cause = "the kernel did not attach the program (" + errnoText(se.Err) + ")"
	switch {
	case se.AttachKind == "kprobe" && errors.Is(se.Err, os.ErrNotExist):
		if !kprobesAvailable() {
			e.Cause = "this kernel has no kprobes (built without CONFIG_KPROBES: no kprobe_events in tracefs), so no kprobe can attach"
			e.Fix = append(e.Fix, "use a tracepoint, raw_tracepoint or fentry program for this hook")
		} else {
			e.Cause = "the kernel has no kprobe target by that name: check the symbol in /proc/kallsyms (it may be inlined or renamed on this kernel)"
		}
	case errors.Is(se.Err, ebpf.ErrNotSupported), errors.Is(se.Err, unix.EOPNOTSUPP):
		e.Cause = "this kernel, driver or configuration does not support this attach: " + Clean(se.Err.Error())
	case errors.Is(se.Err, unix.EEXIST), errors.Is(se.Err, unix.EBUSY):
		e.Fix = append(e.Fix, "another program is attached there already: detach it (bpftool net / bpftool cgroup) or choose another target")
	}
}

func explainPin(e *Error, se *loader.StepError) {
	switch {
	case errors.Is(se.Err, loader.ErrNotBPFFS):
		e.Code = ENotBPFFS
		e.Fix = append(e.Fix, "mount bpffs: mount -t bpf bpf /sys/fs/bpf, or choose a pin path on a bpffs mount")
	case isPerm(se.Err) && strings.Contains(se.Err.Error(), "chown"):
		e.Code = EPinDenied
		e.Cause = "pins are made after every capability is dropped, so owner: can name only bpfload's own user and a group that user belongs to"
		e.Fix = append(e.Fix, "set owner: to a group the loading user is in (owner: \":GROUP\") with a mode such as \"0640\", or chown the pins after loading")
	case isPerm(se.Err):
		e.Code = EPinDenied
		e.Cause = "pins are created after every capability is dropped, so the user running bpfload must be able to write the pin directory"
		e.Fix = append(e.Fix, fmt.Sprintf("give the user write access: chown USER %s (or pick a pin directory it owns with --pin-root)", se.Target))
	case errors.Is(se.Err, os.ErrExist):
		e.Code = EAlreadyLoaded
	default:
		e.Code = EInternal
	}
}

func lastLines(log []string, n int) string {
	var keep []string
	for i := len(log) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(log[i]); l != "" && !strings.HasPrefix(l, "processed ") && !strings.HasPrefix(l, "verification time") && !strings.HasPrefix(l, "stack depth") {
			keep = append([]string{l}, keep...)
		}
	}
	return strings.Join(keep, " / ")
}

func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s, %s", unix.ErrnoName(errno), errno.Error())
	}
	return Clean(err.Error())
}

// kprobesAvailable reports whether tracefs offers kprobe_events, which
// exists only with CONFIG_KPROBES (and kprobe PMU support).
func kprobesAvailable() bool {
	for _, root := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(root + "/kprobe_events"); err == nil {
			return true
		}
	}
	return false
}

package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// TracepointAttach attaches a tracepoint program to a kernel tracepoint
// named GROUP/NAME, through a perf event and a BPF link (pinnable on Linux
// 5.15 and later). The tracepoint's ID is read from tracefs, which must be
// mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing.
//
//	attach: {tracepoint: syscalls/sys_enter_openat}
type TracepointAttach string

// tracefsRoots are where cilium/ebpf looks for tracefs, in order.
var tracefsRoots = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

func (a *TracepointAttach) kind() string { return "tracepoint" }

func (a *TracepointAttach) split() (group, name string, err error) {
	group, name, ok := strings.Cut(string(*a), "/")
	if !ok || group == "" || name == "" || strings.Contains(name, "/") || strings.Contains(group, "..") || strings.Contains(name, "..") {
		return "", "", fmt.Errorf("%w: tracepoint %q must be GROUP/NAME, as in syscalls/sys_enter_openat", ErrBadAttach, string(*a))
	}
	return group, name, nil
}

func (a *TracepointAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.TracePoint)
}

func (a *TracepointAttach) check() error {
	group, name, err := a.split()
	if err != nil {
		return err
	}
	mounted := false
	for _, root := range tracefsRoots {
		_, err := os.Stat(filepath.Join(root, "events"))
		if errors.Is(err, os.ErrPermission) {
			return nil // not readable without privilege: attach will tell
		}
		if err != nil {
			continue
		}
		mounted = true
		if _, err := os.Stat(filepath.Join(root, "events", group, name)); err == nil || errors.Is(err, os.ErrPermission) {
			return nil
		}
	}
	if !mounted {
		return fmt.Errorf("%w: tracefs is not mounted, so tracepoint %s/%s cannot be resolved: mount -t tracefs tracefs /sys/kernel/tracing", ErrAttachTarget, group, name)
	}
	return fmt.Errorf("%w: tracepoint %s/%s does not exist on this kernel (see %s/events/%s/)", ErrAttachTarget, group, name, tracefsRoots[0], group)
}

func (a *TracepointAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	group, name, err := a.split()
	if err != nil {
		return nil, err
	}
	return link.Tracepoint(group, name, prog, nil)
}

func (a *TracepointAttach) target(*ebpf.ProgramSpec) string { return string(*a) }

package diag

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Env is what the host says about limits no capability lifts.
type Env struct {
	Kernel                  string `json:"kernel"`
	Lockdown                string `json:"lockdown"` // none, integrity, confidentiality, or "" if unknown
	UnprivilegedBPFDisabled string `json:"unprivileged_bpf_disabled"`
	PerfEventParanoid       string `json:"perf_event_paranoid"`
	Seccomp                 string `json:"seccomp"` // 0 none, 1 strict, 2 filter
	KernelBTF               bool   `json:"kernel_btf"`
}

// ProbeEnv reads the host's kernel release, lockdown mode, BPF and perf
// sysctls, this process's seccomp mode and whether kernel BTF exists. It
// mounts securityfs to read lockdown if it is not mounted and it can.
func ProbeEnv() Env {
	var e Env
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = string(bytes.TrimRight(u.Release[:], "\x00"))
	}
	e.Lockdown = readLockdown()
	e.UnprivilegedBPFDisabled = readTrim("/proc/sys/kernel/unprivileged_bpf_disabled")
	e.PerfEventParanoid = readTrim("/proc/sys/kernel/perf_event_paranoid")
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
				e.Seccomp = strings.TrimSpace(v)
			}
		}
	}
	_, err := os.Stat("/sys/kernel/btf/vmlinux")
	e.KernelBTF = err == nil
	return e
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readLockdown returns the bracketed mode of /sys/kernel/security/lockdown.
func readLockdown() string {
	const path = "/sys/kernel/security/lockdown"
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		// securityfs may just not be mounted; mounting it changes nothing else.
		if unix.Mount("securityfs", "/sys/kernel/security", "securityfs", 0, "") == nil {
			b, err = os.ReadFile(path)
			_ = unix.Unmount("/sys/kernel/security", 0)
		}
	}
	if err != nil {
		return ""
	}
	s := string(b)
	if i, j := strings.Index(s, "["), strings.Index(s, "]"); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return ""
}

// Blockers lists what on this host refuses BPF operations whatever the
// capabilities, each as a sentence.
func (e Env) Blockers() []string {
	var out []string
	if e.Lockdown != "" && e.Lockdown != "none" {
		out = append(out, fmt.Sprintf("kernel lockdown is %q (/sys/kernel/security/lockdown): it refuses bpf_probe_write_user%s", e.Lockdown,
			map[bool]string{true: ", bpf_probe_read_kernel and other reads of kernel memory", false: ""}[e.Lockdown == "confidentiality"]))
	}
	if e.Seccomp != "" && e.Seccomp != "0" {
		out = append(out, fmt.Sprintf("this process runs under seccomp mode %s (/proc/self/status), which may refuse bpf() or perf_event_open()", e.Seccomp))
	}
	if !e.KernelBTF {
		out = append(out, "the kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE, tp_btf, fentry and lsm programs cannot load")
	}
	return out
}

// BlockersFor is Blockers, keeping lockdown only where cause is about what
// lockdown refuses: writing user memory, or (in confidentiality mode)
// reading kernel memory.
func (e Env) BlockersFor(cause string) []string {
	relevant := strings.Contains(cause, "probe_write_user") ||
		(e.Lockdown == "confidentiality" && strings.Contains(cause, "probe_read"))
	var out []string
	for _, b := range e.Blockers() {
		if strings.HasPrefix(b, "kernel lockdown") && !relevant {
			continue
		}
		out = append(out, b)
	}
	return out
}

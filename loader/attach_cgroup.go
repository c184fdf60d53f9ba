package loader

import (
	"fmt"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// CgroupAttach attaches any cgroup program (cgroup_skb, cgroup_sock,
// cgroup_sock_addr, cgroup_sockopt, cgroup_sysctl, cgroup_device,
// sock_ops) to a cgroup v2 directory. The attach type comes from the ELF
// section, such as SEC("cgroup_skb/ingress"). cilium/ebpf uses a BPF link
// where the kernel has one (5.7+). Linux checks CAP_NET_ADMIN when a
// cgroup_skb program attaches.
//
//	attach: {cgroup: {path: /sys/fs/cgroup/app}}
type CgroupAttach struct {
	Path string `yaml:"path" json:"path"`
}

func (a *CgroupAttach) kind() string { return "cgroup" }

func (a *CgroupAttach) fits(spec *ebpf.ProgramSpec) error {
	// The hook comes from the section; AttachNone is also
	// BPF_CGROUP_INET_INGRESS, so it cannot be told from a missing one.
	return typeIn(a.kind(), spec, ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr,
		ebpf.CGroupSockopt, ebpf.CGroupSysctl, ebpf.CGroupDevice, ebpf.SockOps)
}

func (a *CgroupAttach) check() error {
	if !filepath.IsAbs(a.Path) {
		return fmt.Errorf("%w: cgroup path %q must be absolute, such as /sys/fs/cgroup/app", ErrBadAttach, a.Path)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(a.Path, &st); err != nil {
		return fmt.Errorf("%w: cgroup %s: %v", ErrAttachTarget, a.Path, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%w: %s is not a cgroup v2 directory (find the cgroup2 mount with `findmnt -t cgroup2`)", ErrAttachTarget, a.Path)
	}
	return nil
}

func (a *CgroupAttach) attach(prog *ebpf.Program, spec *ebpf.ProgramSpec) (link.Link, error) {
	at := spec.AttachType
	if spec.Type == ebpf.SockOps {
		at = ebpf.AttachCGroupSockOps
	}
	return link.AttachCgroup(link.CgroupOptions{Path: a.Path, Attach: at, Program: prog})
}

func (a *CgroupAttach) target(spec *ebpf.ProgramSpec) string {
	// The section names the hook (cgroup_skb/ingress); AttachType's
	// String() says "None" for BPF_CGROUP_INET_INGRESS, which is 0.
	return fmt.Sprintf("%s (%s)", a.Path, spec.SectionName)
}

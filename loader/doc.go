// Package loader turns an eBPF object held in memory into programs that are
// loaded, attached and pinned in bpffs, all or nothing.
//
// The work is split along the privilege boundary:
//
//   - Prepare parses the ELF bytes with cilium/ebpf, keeps only the
//     requested programs and the maps they use, and validates every attach
//     request (program type, interface, cgroup, binary, tracepoint) without
//     touching the bpf() syscall. It needs no privilege.
//   - (*Plan).Load creates the maps, loads the programs and attaches them.
//     This is the only step that needs capabilities; the caller raises them
//     before and drops them after.
//   - (*Loaded).Pin pins links, programs and maps. It needs only write
//     permission on the bpffs directory.
//   - (*Loaded).Rollback undoes everything done so far: links detach, pins
//     and the directories this run created are removed.
//
// One file per attach kind (attach_xdp.go, attach_cgroup.go, ...) holds the
// validation and attach code for that kind. The package knows nothing of
// manifests' signatures or of capabilities.
package loader

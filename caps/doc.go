// Package caps changes and inspects the Linux capabilities of the whole
// process: every OS thread, not just the calling one.
//
// It wraps libcap's cap package. Built with CGO_ENABLED=0, cap uses psx,
// which applies every capset and prctl through syscall.AllThreadsSyscall,
// so all threads of the Go runtime hold the same sets. Observe reads the
// sets back from /proc/self/task/*/status, thread by thread, so callers can
// verify what the kernel really holds rather than trust what was asked for.
//
// The package knows nothing of BPF: it speaks only of capability names,
// sets and the process's threads.
package caps

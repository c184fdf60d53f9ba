// SPDX-License-Identifier: GPL-2.0
/* One hook, three variants, as tools ship them: the loader picks the one
 * this kernel supports. */
#include "common.h"

COUNTER_MAP(unlinks);

SEC("fentry/do_unlinkat")
int unlink_fentry(void *ctx)
{
	bump(&unlinks);
	return 0;
}

SEC("kprobe/do_unlinkat")
int unlink_kprobe(void *ctx)
{
	bump(&unlinks);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlink_tp(void *ctx)
{
	bump(&unlinks);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Tracing programs: tracepoint, raw tracepoint, uprobe, tp_btf, fentry, lsm, kprobe. */
#include "common.h"

COUNTER_MAP(opens);
COUNTER_MAP(switches);
COUNTER_MAP(calls);
COUNTER_MAP(calls_multi);

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	bump(&opens);
	return 0;
}

SEC("raw_tracepoint/sched_switch")
int on_switch(void *ctx)
{
	bump(&switches);
	return 0;
}

SEC("uprobe")
int on_call(void *ctx)
{
	bump(&calls);
	return 0;
}

SEC("uprobe.multi")
int on_call_multi(void *ctx)
{
	bump(&calls_multi);
	return 0;
}

SEC("tp_btf/sched_switch")
int on_switch_btf(void *ctx)
{
	bump(&switches);
	return 0;
}

SEC("fentry/do_unlinkat")
int on_unlink(void *ctx)
{
	bump(&opens);
	return 0;
}

SEC("lsm/file_open")
int audit_open(void *ctx)
{
	bump(&opens);
	return 0;
}

SEC("kprobe/do_sys_openat2")
int on_open(void *ctx)
{
	bump(&opens);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

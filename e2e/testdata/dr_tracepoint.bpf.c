// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a tracepoint program (perf_event_open to attach). */
#include "common.h"

COUNTER_MAP(dr_tp_hits);

SEC("tracepoint/syscalls/sys_enter_getpid")
int dr_tracepoint(void *ctx)
{
	bump(&dr_tp_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

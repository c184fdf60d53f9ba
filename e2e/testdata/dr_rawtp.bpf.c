// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a raw tracepoint program. */
#include "common.h"

COUNTER_MAP(dr_rawtp_hits);

SEC("raw_tracepoint/sys_enter")
int dr_rawtp(void *ctx)
{
	bump(&dr_rawtp_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

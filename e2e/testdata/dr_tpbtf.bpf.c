// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a BTF-typed tracepoint (tracing type, raw tp link). */
#include "common.h"

COUNTER_MAP(dr_tpbtf_hits);

SEC("tp_btf/sched_switch")
int dr_tpbtf(void *ctx)
{
	bump(&dr_tpbtf_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

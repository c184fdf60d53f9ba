// SPDX-License-Identifier: GPL-2.0
/* Two good programs around one the verifier rejects: for all-or-nothing tests. */
#include "common.h"

COUNTER_MAP(hits);

SEC("raw_tracepoint/sys_enter")
int first_ok(void *ctx)
{
	bump(&hits);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int rejected(void *ctx)
{
	/* A key the verifier cannot know: recent verifiers drop the NULL
	 * case of array lookups with a constant in-range key. */
	__u32 key = bpf_get_prandom_u32();
	__u64 *v = bpf_map_lookup_elem(&hits, &key);
	/* No NULL check: the verifier refuses this dereference. */
	return *v;
}

SEC("raw_tracepoint/sched_switch")
int last_ok(void *ctx)
{
	bump(&hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

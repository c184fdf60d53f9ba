// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a socket filter that stores its context pointer in a
 * map value. The verifier allows leaking kernel addresses only with
 * CAP_PERFMON (allow_ptr_leaks); no helper or type reveals that. */
#include "common.h"

COUNTER_MAP(dr_leaked);

SEC("socket")
int dr_sockfilter_leak(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&dr_leaked, &key);

	if (v)
		*v = (__u64)(unsigned long)skb;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

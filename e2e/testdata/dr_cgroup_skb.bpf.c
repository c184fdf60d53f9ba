// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: cgroup_skb loads with CAP_BPF but attaches only with
 * CAP_NET_ADMIN. */
#include "common.h"

COUNTER_MAP(dr_cgskb_packets);

SEC("cgroup_skb/egress")
int dr_cgroup_skb(struct __sk_buff *skb)
{
	bump(&dr_cgskb_packets);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

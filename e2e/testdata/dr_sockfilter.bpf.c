// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a plain socket filter. */
#include "common.h"

COUNTER_MAP(dr_sf_packets);

SEC("socket")
int dr_sockfilter(struct __sk_buff *skb)
{
	bump(&dr_sf_packets);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

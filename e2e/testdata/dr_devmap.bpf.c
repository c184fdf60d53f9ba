// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a socket filter (CAP_BPF) using a DEVMAP, whose creation
 * needs CAP_NET_ADMIN: the map, not the program type, sets the need. */
#include "common.h"

COUNTER_MAP(dr_dev_hits);

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} dr_devs SEC(".maps");

SEC("socket")
int dr_devmap(struct __sk_buff *skb)
{
	__u32 key = 0;

	if (bpf_map_lookup_elem(&dr_devs, &key))
		bump(&dr_dev_hits);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

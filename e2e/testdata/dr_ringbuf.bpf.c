// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a socket filter that writes packet lengths to a ring
 * buffer. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} dr_events SEC(".maps");

SEC("socket")
int dr_ringbuf(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	bpf_ringbuf_output(&dr_events, &len, sizeof(len), 0);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

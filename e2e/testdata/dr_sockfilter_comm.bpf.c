// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a socket filter calling bpf_get_current_comm, a helper
 * bpf_base_func_proto offers only with CAP_PERFMON. */
#include "common.h"

COUNTER_MAP(dr_comm_hits);

SEC("socket")
int dr_sockfilter_comm(struct __sk_buff *skb)
{
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] == 'b')
		bump(&dr_comm_hits);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

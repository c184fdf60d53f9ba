// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a tcx ingress program. */
#include "common.h"

COUNTER_MAP(dr_tcx_packets);

#define TCX_NEXT -1

SEC("tcx/ingress")
int dr_tcx(struct __sk_buff *skb)
{
	bump(&dr_tcx_packets);
	return TCX_NEXT;
}

char LICENSE[] SEC("license") = "GPL";

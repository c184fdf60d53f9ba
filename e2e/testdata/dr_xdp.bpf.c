// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: an XDP program. */
#include "common.h"

COUNTER_MAP(dr_xdp_packets);

SEC("xdp")
int dr_xdp(struct xdp_md *ctx)
{
	bump(&dr_xdp_packets);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

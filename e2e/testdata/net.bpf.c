// SPDX-License-Identifier: GPL-2.0
/* Networking programs: xdp, tcx, cgroup_skb, socket filter, sk_lookup, netfilter. */
#include "common.h"

COUNTER_MAP(xdp_packets);
COUNTER_MAP(tc_packets);
COUNTER_MAP(cg_packets);
COUNTER_MAP(sock_packets);
COUNTER_MAP(lookups);
COUNTER_MAP(nf_packets);

#define TCX_NEXT -1
#define NF_ACCEPT 1

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	bump(&xdp_packets);
	return XDP_PASS;
}

SEC("tcx/ingress")
int tc_accept(struct __sk_buff *skb)
{
	bump(&tc_packets);
	return TCX_NEXT;
}

SEC("cgroup_skb/ingress")
int allow_ingress(struct __sk_buff *skb)
{
	bump(&cg_packets);
	return 1;
}

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	bump(&sock_packets);
	return skb->len;
}

SEC("sk_lookup")
int lookup(struct bpf_sk_lookup *ctx)
{
	bump(&lookups);
	return SK_PASS;
}

SEC("netfilter")
int nf(void *ctx)
{
	bump(&nf_packets);
	return NF_ACCEPT;
}

char LICENSE[] SEC("license") = "GPL";

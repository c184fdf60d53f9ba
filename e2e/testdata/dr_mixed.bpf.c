// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: networking and tracing programs in one object, so the
 * set is the union of CAP_NET_ADMIN and CAP_PERFMON needs. */
#include "common.h"

COUNTER_MAP(dr_mix_xdp);
COUNTER_MAP(dr_mix_sock);
COUNTER_MAP(dr_mix_tp);
COUNTER_MAP(dr_mix_rawtp);

SEC("xdp")
int dr_mix_xdp_prog(struct xdp_md *ctx)
{
	bump(&dr_mix_xdp);
	return XDP_PASS;
}

SEC("socket")
int dr_mix_sock_prog(struct __sk_buff *skb)
{
	bump(&dr_mix_sock);
	return skb->len;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int dr_mix_tp_prog(void *ctx)
{
	bump(&dr_mix_tp);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int dr_mix_rawtp_prog(void *ctx)
{
	bump(&dr_mix_rawtp);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a cgroup sock_addr program on connect(2) over IPv4. */
#include "common.h"

COUNTER_MAP(dr_connects);

SEC("cgroup/connect4")
int dr_connect4(struct bpf_sock_addr *ctx)
{
	bump(&dr_connects);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

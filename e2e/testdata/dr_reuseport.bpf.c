// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: an sk_reuseport program, attached by its socket's owner. */
#include "common.h"

COUNTER_MAP(dr_reuseport_hits);

SEC("sk_reuseport")
int dr_reuseport(struct sk_reuseport_md *ctx)
{
	bump(&dr_reuseport_hits);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a uprobe attached through a uprobe_multi link. */
#include "common.h"

COUNTER_MAP(dr_upm_hits);

SEC("uprobe.multi")
int dr_uprobe_multi(void *ctx)
{
	bump(&dr_upm_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

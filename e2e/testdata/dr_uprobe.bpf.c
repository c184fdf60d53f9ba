// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a classic uprobe, attached through the uprobe PMU. */
#include "common.h"

COUNTER_MAP(dr_uprobe_hits);

SEC("uprobe")
int dr_uprobe(void *ctx)
{
	bump(&dr_uprobe_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

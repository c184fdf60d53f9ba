// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: an fentry program; this kernel refuses trampolines. */
#include "common.h"

COUNTER_MAP(dr_fentry_hits);

SEC("fentry/do_unlinkat")
int dr_fentry(void *ctx)
{
	bump(&dr_fentry_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: a BPF LSM program; this kernel refuses trampolines. */
#include "common.h"

COUNTER_MAP(dr_lsm_hits);

SEC("lsm/file_open")
int dr_lsm(void *ctx)
{
	bump(&dr_lsm_hits);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

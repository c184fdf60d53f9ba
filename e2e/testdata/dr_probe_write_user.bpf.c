// SPDX-License-Identifier: GPL-2.0
/* Dry-run corpus: bpf_probe_write_user needs CAP_SYS_ADMIN, and kernel
 * lockdown (integrity) refuses it whatever the capabilities. */
#include "common.h"

SEC("raw_tracepoint/sys_enter")
int dr_write_user(void *ctx)
{
	__u64 zero = 0;

	bpf_probe_write_user((void *)0x1000, &zero, sizeof(zero));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* In the style of libbpf-tools: configured by its loader before load. */
#include <stdbool.h>
#include "common.h"

enum mode { MODE_COUNT = 0, MODE_TRACE = 1 };

const volatile int targ_tgid = 0;          /* pid filter: 0 means every process */
const volatile bool filter_failed = false;
const volatile unsigned char min_level = 1;
const volatile unsigned long long max_bytes = 4096;
const volatile char comm_prefix[16] = "";
const volatile unsigned int ports[4] = {0, 0, 0, 0};
const volatile enum mode run_mode = MODE_COUNT;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} opens_by_tgid SEC(".maps");

/* Left unsized, as libbpf-tools leave stack maps: the loader sizes them. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
} stacks SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *v;

	if (targ_tgid && tgid != (__u32)targ_tgid)
		return 0;
	v = bpf_map_lookup_elem(&opens_by_tgid, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&opens_by_tgid, &tgid, &one, BPF_NOEXIST);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int stack_openat(void *ctx)
{
	bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

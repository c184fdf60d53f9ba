// SPDX-License-Identifier: GPL-2.0
/* Benchmark object: one small program. */
/* Attached to bpf_test_finish, which fires only on BPF_PROG_TEST_RUN: an
 * attached program must not tax the measurement by running on every syscall. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("raw_tracepoint/bpf_test_finish")
int small(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Benchmark object: a few verifier-heavy programs. Each bounded loop is
 * walked iteration by iteration by the verifier (over 100k processed
 * instructions per program). */
/* Attached to bpf_test_finish, which fires only on BPF_PROG_TEST_RUN: an
 * attached program must not tax the measurement by running on every syscall. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} acc SEC(".maps");

#define HEAVY(n, iters)                                                  \
SEC("raw_tracepoint/bpf_test_finish")                                          \
int heavy##n(void *ctx)                                                  \
{                                                                        \
	__u32 key = n;                                                       \
	__u64 *v = bpf_map_lookup_elem(&acc, &key);                          \
	__u64 x;                                                             \
	if (!v)                                                              \
		return 0;                                                        \
	x = *v;                                                              \
	_Pragma("clang loop unroll(disable)")                                \
	for (__u32 i = 0; i < iters; i++) {                                  \
		x = x * 6364136223846793005ULL + i;                              \
		if (x & 1)                                                       \
			x ^= x >> 7;                                                 \
	}                                                                    \
	*v = x;                                                              \
	return 0;                                                            \
}

HEAVY(0, 12000)
HEAVY(1, 12000)
HEAVY(2, 12000)
HEAVY(3, 12000)

char LICENSE[] SEC("license") = "GPL";

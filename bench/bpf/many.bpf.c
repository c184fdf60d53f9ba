// SPDX-License-Identifier: GPL-2.0
/* Benchmark object: 64 independent programs sharing one map, each with a
 * bounded loop the verifier walks (some 15k to 25k processed instructions
 * each), as in a large tracing tool. */
/* Attached to bpf_test_finish, which fires only on BPF_PROG_TEST_RUN: an
 * attached program must not tax the measurement by running on every syscall. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

#define PROG(n, iters)                                                   \
SEC("raw_tracepoint/bpf_test_finish")                                          \
int prog##n(void *ctx)                                                   \
{                                                                        \
	__u32 key = n;                                                       \
	__u64 *v = bpf_map_lookup_elem(&hits, &key);                         \
	__u64 x;                                                             \
	if (!v)                                                              \
		return 0;                                                        \
	x = *v;                                                              \
	_Pragma("clang loop unroll(disable)")                                \
	for (__u32 i = 0; i < iters; i++) {                                  \
		x = x * 6364136223846793005ULL + i + n;                          \
		if (x & 1)                                                       \
			x ^= x >> 7;                                                 \
	}                                                                    \
	*v = x;                                                              \
	return 0;                                                            \
}

PROG(0, 1200)
PROG(1, 1210)
PROG(2, 1220)
PROG(3, 1230)
PROG(4, 1240)
PROG(5, 1250)
PROG(6, 1260)
PROG(7, 1270)
PROG(8, 1280)
PROG(9, 1290)
PROG(10, 1300)
PROG(11, 1310)
PROG(12, 1320)
PROG(13, 1330)
PROG(14, 1340)
PROG(15, 1350)
PROG(16, 1360)
PROG(17, 1370)
PROG(18, 1380)
PROG(19, 1390)
PROG(20, 1400)
PROG(21, 1410)
PROG(22, 1420)
PROG(23, 1430)
PROG(24, 1440)
PROG(25, 1450)
PROG(26, 1460)
PROG(27, 1470)
PROG(28, 1480)
PROG(29, 1490)
PROG(30, 1500)
PROG(31, 1510)
PROG(32, 1520)
PROG(33, 1530)
PROG(34, 1540)
PROG(35, 1550)
PROG(36, 1560)
PROG(37, 1570)
PROG(38, 1580)
PROG(39, 1590)
PROG(40, 1600)
PROG(41, 1610)
PROG(42, 1620)
PROG(43, 1630)
PROG(44, 1640)
PROG(45, 1650)
PROG(46, 1660)
PROG(47, 1670)
PROG(48, 1680)
PROG(49, 1690)
PROG(50, 1700)
PROG(51, 1710)
PROG(52, 1720)
PROG(53, 1730)
PROG(54, 1740)
PROG(55, 1750)
PROG(56, 1760)
PROG(57, 1770)
PROG(58, 1780)
PROG(59, 1790)
PROG(60, 1800)
PROG(61, 1810)
PROG(62, 1820)
PROG(63, 1830)

char LICENSE[] SEC("license") = "GPL";

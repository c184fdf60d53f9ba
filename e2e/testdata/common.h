/* Shared by the e2e test objects: one counter slot per program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define COUNTER_MAP(name)                                  \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_ARRAY);          \
		__uint(max_entries, 1);                    \
		__type(key, __u32);                        \
		__type(value, __u64);                      \
	} name SEC(".maps")

static __always_inline void bump(void *map)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
}

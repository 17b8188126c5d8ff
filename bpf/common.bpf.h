/* Helpers and maps shared by every probe family. The maps "events" and "drops" are
 * declared in each object but created once by user space and reused (bpf_map__reuse_fd),
 * so there is one ring buffer and one set of drop counters for the whole tool. */
#ifndef PERFBPF_COMMON_BPF_H
#define PERFBPF_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "perfbpf/common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PERFBPF_DROP_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &kind);

	if (n)
		(*n)++;
}

/* Branch-free floor(log2(v)) for v > 0, as in the kernel's ilog2 on constants. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r, shift;

	r = (v > 0xFFFFFFFFULL) << 5;
	v >>= r;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* Histogram slot for a duration in ns, in log2 µs: 0 for < 1 µs, k for [2^(k-1), 2^k) µs. */
static __always_inline __u32 hist_slot_us(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 slot = us ? log2_u64(us) + 1 : 0;

	if (slot >= PERFBPF_HIST_SLOTS)
		slot = PERFBPF_HIST_SLOTS - 1;
	/* clang may bounds-check one register and index with a copy; re-bound the copy the
	 * verifier sees (PERFBPF_HIST_SLOTS is a power of two). */
	asm volatile("%[s] &= %[m]" : [s] "+r"(slot) : [m] "i"(PERFBPF_HIST_SLOTS - 1));
	return slot;
}

static __always_inline struct perfbpf_event *reserve_event(__u32 type)
{
	struct perfbpf_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(PERFBPF_DROP_RING_FULL);
		return NULL;
	}
	e->type = type;
	e->ts_ns = bpf_ktime_get_ns();
	e->arg0 = 0;
	e->arg1 = 0;
	return e;
}

#endif

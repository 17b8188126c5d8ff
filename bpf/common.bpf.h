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

/* Claims slot idx of a direct-mapped table for owner, through claims, a hash slot -> owner
 * (__u32 -> __u64): of CPUs claiming one free slot at once, the BPF_NOEXIST insert succeeds
 * for one only (the BPF target here has no compare-and-swap). True when owner holds it. */
static __always_inline bool claim_slot(void *claims, __u32 idx, __u64 owner)
{
	__u64 *holder;

	bpf_map_update_elem(claims, &idx, &owner, BPF_NOEXIST);
	holder = bpf_map_lookup_elem(claims, &idx);
	return holder && *holder == owner;
}

/* The bitmap of a slot table's claimed slots (bit i of word i / 64), which user space scans
 * instead of every slot's line (userspace/probes/slot_table.h). */
#define SLOT_USED_MAP(name, slots)                                                                 \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(map_flags, BPF_F_MMAPABLE);                                                 \
		__uint(max_entries, (slots) / 64);                                                 \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} name SEC(".maps")

/* Sets slot idx's bit. Only the slot's claimer sets it, and user space clears it before it
 * lets the claim go, so the bit is clear here and an atomic add sets it (v1 BPF has no
 * atomic or). */
static __always_inline void mark_slot_used(void *used, __u32 idx)
{
	__u32 w = idx / 64;
	__u64 *word = bpf_map_lookup_elem(used, &w);

	if (word)
		__sync_fetch_and_add(word, 1ULL << (idx % 64));
}

/* Index of process tgid's slot in a table of per-process slots (an ARRAY of 2^bits entries
 * whose value starts with a __u32 tgid, 0 when free): its home by Fibonacci hashing, then
 * `probes` neighbours. With create, a free slot is claimed through claims (see claim_slot)
 * when the process has none, and marked in used. Returns the slot (its index in *idx_out;
 * *claimed_out, when not NULL, set true if this call claimed it), or NULL: no tgid, or none
 * found (counted as drop full_kind when creating). Array lookups
 * only, inlined by the verifier: no hash on the hot path. The same serves any 32-bit id
 * (the sched family's thread ids).
 *
 * With group_bits g > 0, ids that differ only in their low g bits share a hashed group of
 * 2^g adjacent slots, each at its own offset, and a collision probes the next groups at
 * that offset: the table is 2^g independent tables of 2^(bits-g) slots, so claims fail no
 * more often, but ids handed out together (a thread pool's) sit on a few pages instead of
 * one page each. Beside 1,000 threads waking every 100 ms, a switch-out's slot then costs
 * a page walk less (sched.bpf.c). */
static __always_inline void *tgid_slot(void *slots, void *claims, void *used, __u32 bits,
				       __u32 group_bits, __u32 probes, __u32 tgid, bool create,
				       __u32 full_kind, __u32 *idx_out, bool *claimed_out)
{
	__u32 group_mask = (1U << (bits - group_bits)) - 1;
	__u32 home = ((tgid >> group_bits) * 2654435761U) >> (32 - (bits - group_bits));
	__u32 offset = tgid & ((1U << group_bits) - 1);

	if (!tgid)
		return NULL;
#pragma unroll
	for (__u32 i = 0; i < probes; i++) {
		__u32 idx = (((home + i) & group_mask) << group_bits) | offset;
		__u32 *e = bpf_map_lookup_elem(slots, &idx);

		if (!e)
			return NULL;
		if (*e == tgid) {
			*idx_out = idx;
			return e;
		}
		/* A free slot claimed meanwhile for another process is passed by. */
		if (create && !*e && claim_slot(claims, idx, tgid)) {
			*e = tgid;
			mark_slot_used(used, idx);
			*idx_out = idx;
			if (claimed_out)
				*claimed_out = true;
			return e;
		}
	}
	if (create)
		count_drop(full_kind);
	return NULL;
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

/* Histogram slot for a duration in ns, in log2 µs: 0 for < 1 µs, k for [2^(k-1), 2^k) µs.
 *
 * Without dividing by 1000 (BPF has no multiply-high, so the division is a 64-bit div of
 * 20-90 cycles on the hot paths that call this): with L = floor(log2 ns) and
 * 512 < 1000 < 1024, the slot floor(log2(ns / 1000)) + 1 is L - 9 or L - 8, the latter
 * exactly when ns >= 1000 << (L - 9). Equal to the division's slot for every ns (checked
 * against it over 0..5e7, around every boundary and on 1e8 random values). */
static __always_inline __u32 hist_slot_us(__u64 ns)
{
	__u32 l, slot;

	if (ns < 1000)
		return 0;
	l = log2_u64(ns) - 9;
	slot = l + (ns >= (1000ULL << l));

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

/* tp_btf where it loads, raw_tp where it does not (a kernel without BTF for the hook, or
 * one that refuses tp_btf): a hook's body is written once as a static __always_inline
 * function taking a compile-time constant `btf`, and BTF_OR_RAW_TP emits it twice:
 * SEC("tp_btf/HOOK") as NAME with btf = true, SEC("raw_tp/HOOK") as NAME_raw with
 * btf = false. User space loads the tp_btf one and falls back to the raw_tp one
 * (probes/bpf_object.cpp). Inside the body KFIELD reads a field: a plain load through
 * the BTF pointer, or a CO-RE probe read of the raw pointer; clang folds the other branch
 * away, so neither program carries the other's code. */
#define KFIELD(btf, p, field) ((btf) ? (p)->field : BPF_CORE_READ(p, field))

#define BTF_OR_RAW_TP(hook, name, body, args...)                                                   \
	SEC("tp_btf/" #hook)                                                                       \
	int BPF_PROG(name, args)                                                                   \
	{                                                                                          \
		const bool btf = true;                                                             \
		return body;                                                                       \
	}                                                                                          \
	SEC("raw_tp/" #hook)                                                                       \
	int BPF_PROG(name##_raw, args)                                                             \
	{                                                                                          \
		const bool btf = false;                                                            \
		return body;                                                                       \
	}

#endif

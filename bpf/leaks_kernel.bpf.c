/* Leak tracer, kernel mode (`perfbpf trace --leaks --kernel`): kmem:kmalloc/kfree,
 * kmem_cache_alloc/free and mm_page_alloc/free with kernel stacks. Allocations are kept
 * by address until freed, from any context (an object allocated by the traced process is
 * often freed by another task or an RCU callback). With a target, only its allocations
 * are tracked; without one, all. The prototypes are the same on 6.1 and 6.18. */
#include "common.bpf.h"
#include "perfbpf/leaks_kernel.h"

const volatile __u32 target_tgid = 0; /* 0: system-wide */

#define PAGE_BYTES 4096ULL

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KLEAKS_MAX_DEPTH * sizeof(__u64));
} kstacks SEC(".maps");

/* Preallocated: an update must not allocate, or the tracer would trace (and recurse into)
 * its own allocations. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, __u64);
	__type(value, struct kleaks_alloc);
} klive SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __s32);
	__type(value, struct kleaks_stats);
} kstats SEC(".maps");

__u64 klive_full = 0;
__u64 kstack_errors = 0;

static __always_inline void on_alloc(void *ctx, __u64 ptr, __u64 size, __u32 kind)
{
	struct kleaks_alloc a = {.size = size, .kind = kind};
	struct kleaks_stats zero = {.kind = kind}, *s;

	if (!ptr)
		return;
	if (target_tgid && (bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return;
	a.stack_id = bpf_get_stackid(ctx, &kstacks, 0);
	if (a.stack_id < 0) {
		__sync_fetch_and_add(&kstack_errors, 1);
		return;
	}
	a.ts_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&klive, &ptr, &a, BPF_ANY)) {
		__sync_fetch_and_add(&klive_full, 1);
		count_drop(PERFBPF_DROP_LEAKS_LIVE_FULL);
		return;
	}
	s = bpf_map_lookup_elem(&kstats, &a.stack_id);
	if (!s) {
		bpf_map_update_elem(&kstats, &a.stack_id, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&kstats, &a.stack_id);
		if (!s)
			return;
	}
	__sync_fetch_and_add(&s->allocs, 1);
	__sync_fetch_and_add(&s->alloc_bytes, size);
}

static __always_inline void on_free(__u64 ptr)
{
	struct kleaks_alloc *a;
	struct kleaks_stats *s;

	if (!ptr)
		return;
	a = bpf_map_lookup_elem(&klive, &ptr);
	if (!a)
		return;
	s = bpf_map_lookup_elem(&kstats, &a->stack_id);
	if (s) {
		__sync_fetch_and_add(&s->frees, 1);
		__sync_fetch_and_add(&s->free_bytes, a->size);
	}
	bpf_map_delete_elem(&klive, &ptr);
}

SEC("raw_tp/kmalloc")
int BPF_PROG(on_kmalloc, unsigned long call_site, const void *ptr, size_t bytes_req,
	     size_t bytes_alloc)
{
	on_alloc(ctx, (__u64)ptr, bytes_alloc, KLEAKS_KMALLOC);
	return 0;
}

SEC("raw_tp/kfree")
int BPF_PROG(on_kfree, unsigned long call_site, const void *ptr)
{
	on_free((__u64)ptr);
	return 0;
}

SEC("raw_tp/kmem_cache_alloc")
int BPF_PROG(on_kmem_cache_alloc, unsigned long call_site, const void *ptr, struct kmem_cache *s)
{
	on_alloc(ctx, (__u64)ptr, BPF_CORE_READ(s, size), KLEAKS_CACHE);
	return 0;
}

SEC("raw_tp/kmem_cache_free")
int BPF_PROG(on_kmem_cache_free, unsigned long call_site, const void *ptr)
{
	on_free((__u64)ptr);
	return 0;
}

SEC("raw_tp/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order)
{
	on_alloc(ctx, (__u64)page, PAGE_BYTES << (order & 15), KLEAKS_PAGES);
	return 0;
}

SEC("raw_tp/mm_page_free")
int BPF_PROG(on_page_free, struct page *page, unsigned int order)
{
	on_free((__u64)page);
	return 0;
}

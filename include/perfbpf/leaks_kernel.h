/* Leak tracer, kernel mode (bpf/leaks_kernel.bpf.c): kmalloc, kmem_cache and page
 * allocations with kernel stacks, system-wide or made on behalf of one process. */
#ifndef PERFBPF_LEAKS_KERNEL_H
#define PERFBPF_LEAKS_KERNEL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KLEAKS_MAX_DEPTH 32

enum kleaks_kind {
    KLEAKS_KMALLOC = 1,
    KLEAKS_CACHE = 2,
    KLEAKS_PAGES = 3,
};

/* One outstanding kernel allocation (map "klive", key: object or struct page address). */
struct kleaks_alloc {
    __u64 size;
    __u64 ts_ns;
    __s32 stack_id; /* in the STACK_TRACE map "kstacks" */
    __u32 kind;
};

/* Per-stack totals (map "kstats", key: stack id). */
struct kleaks_stats {
    __u64 allocs;
    __u64 frees;
    __u64 alloc_bytes;
    __u64 free_bytes;
    __u32 kind;
    __u32 pad;
};

#endif

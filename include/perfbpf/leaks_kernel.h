/* Leak tracer, kernel mode (bpf/leaks_kernel.bpf.c): kmalloc, kmem_cache and page
 * allocations with kernel stacks, system-wide or made on behalf of one process; with a
 * target, also the user stack of the call that led to them (a copy of it, unwound in user
 * space with DWARF as growth mode does). */
#ifndef PERFBPF_LEAKS_KERNEL_H
#define PERFBPF_LEAKS_KERNEL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "perfbpf/leaks_growth.h"

#define KLEAKS_MAX_DEPTH 32
#define KLEAKS_USER_MAX_DEPTH GROWTH_MAX_DEPTH
#define KLEAKS_MAX_USER_CONTEXTS 16384 /* distinct user contexts numbered (kustack_ids) */

enum kleaks_kind {
    KLEAKS_KMALLOC = 1,
    KLEAKS_CACHE = 2,
    KLEAKS_PAGES = 3,
};

/* A kernel stack and the user context that led to it (map "kstats"'s key). */
struct kleaks_key {
    __s32 stack_id;  /* in the STACK_TRACE map "kstacks" */
    __u32 ustack_id; /* a struct kleaks_ustack sent once; 0: none (interrupt, kernel
                      * thread, no target, or the copy could not be sent) */
};

/* One outstanding kernel allocation (map "klive", key: object or struct page address). */
struct kleaks_alloc {
    __u64 size;
    __u64 ts_ns;
    struct kleaks_key key;
    __u32 kind;
    __u32 pad;
};

/* What makes two user contexts one (map "kustack_ids", value: ustack id): the registers the
 * unwind starts from, and the words of the stack's first KLEAKS_KEY_BYTES that point into
 * the program's code (return addresses, mostly), hashed: the same code address at the same
 * stack depth from two callers of equal frame size differs there. The other words are left
 * out: locals change from call to call (a loop counter) where the path does not. bp counts
 * only when it points into the stack (frame-pointer code); elsewhere it is a general
 * register. */
#define KLEAKS_KEY_BYTES 2048
struct kleaks_ukey {
    __u64 ip;
    __u64 sp;
    __u64 bp;
    __u64 code_hash;
};

/* A user context, sent once per kleaks_ukey (ring buffer "kustacks"): the registers and a
 * copy of the user stack (stack_bytes long, after the header), and the kernel's
 * frame-pointer walk as a fallback. */
struct kleaks_ustack {
    __u32 id;
    __u32 tid;
    __u64 ip, sp, bp;
    __u64 top_word; /* the word at sp: a leaf function's return address */
    __u32 stack_bytes;
    __u32 fp_depth; /* entries in fp_ips */
    __u64 fp_ips[KLEAKS_USER_MAX_DEPTH];
};

/* User contexts (global "utotals" in .bss). */
struct kleaks_user_totals {
    __u64 sent;         /* user contexts sent (stack copies) */
    __u64 lost;         /* not sent: ring buffer full (retried at the next allocation) */
    __u64 ids_full;     /* not numbered: the table of contexts is full */
    __u64 in_interrupt; /* allocations in an interrupt on the target's CPU time */
    __u64 short_stacks; /* the full stack slice could not be read: a shorter one was */
    __u64 copy_ns;      /* time spent sending contexts (copy and submit), ns */
    __u64 lookups;      /* allocations in process context whose context was looked up */
    __u64 lookup_ns;    /* their time: hash, lookup, and any send (copy_ns), ns */
};

/* Per-stack totals (map "kstats", key: struct kleaks_key). */
struct kleaks_stats {
    __u64 allocs;
    __u64 frees;
    __u64 alloc_bytes;
    __u64 free_bytes;
    __u32 kind;
    __u32 pad;
};

#endif

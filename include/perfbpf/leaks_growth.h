/* Leak tracer, growth mode (bpf/leaks_growth.bpf.c): no allocator probes. Which user
 * stacks fault in new anonymous memory and grow the heap (brk, anonymous mmap) in one
 * process. Fixed-width types, shared with C++. */
#ifndef PERFBPF_LEAKS_GROWTH_H
#define PERFBPF_LEAKS_GROWTH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GROWTH_MAX_DEPTH 32

/* Key of map "growth": the user stack (id in the STACK_TRACE map "growth_stacks") and the
 * word at the top of the user stack at the time, which is the return address into the
 * caller when the code runs in a function that has not pushed a frame (memset, a leaf):
 * the frame-pointer walk cannot see that caller, user space checks the word follows a
 * call instruction before it trusts it. */
struct growth_key {
    __s32 stack_id;
    __u32 pad;
    __u64 top_word;
};

struct growth_value {
    __u64 fault_bytes; /* anonymous memory first touched (page faults) */
    __u64 faults;
    __u64 heap_bytes; /* brk growth and anonymous mmap, bytes */
    __u64 heap_calls;
};

/* Process totals (global "totals" in .bss). */
struct growth_totals {
    __u64 fault_bytes;
    __u64 brk_grow_bytes;
    __u64 brk_shrink_bytes;
    __u64 mmap_anon_bytes;
    __u64 munmap_bytes;
    __u64 stack_errors; /* stack could not be captured */
    __u64 map_full;
};

#endif

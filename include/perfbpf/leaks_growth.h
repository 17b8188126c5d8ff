/* Leak tracer, growth mode (bpf/leaks_growth.bpf.c): no allocator probes. Which user
 * stacks fault in new anonymous memory and grow the heap (brk, anonymous mmap) in one
 * process. Fixed-width types, shared with C++. */
#ifndef PERFBPF_LEAKS_GROWTH_H
#define PERFBPF_LEAKS_GROWTH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GROWTH_MAX_DEPTH 32

/* Bytes of user stack copied from the stack pointer with each sample, as perf's
 * --call-graph dwarf default: enough for the frames of most programs' call paths. */
#define GROWTH_STACK_BYTES 8192

/* Mean bytes of growth between two samples when user space sets none. */
#define GROWTH_DEFAULT_SAMPLE_BYTES (64 * 1024)

enum growth_sample_kind {
    GROWTH_SAMPLE_FAULT = 0,  /* a user page fault (anonymous or not: see addr) */
    GROWTH_SAMPLE_HEAP = 1,   /* brk growth or an anonymous mmap */
    GROWTH_EVENT_MAPPING = 2, /* not a sample: an mmap of the target (struct growth_mapping) */
};

/* Every successful mmap of the target, file-backed or anonymous, in the same ring buffer
 * as the samples and in order with them: user space tells a fault on a file's page from
 * growth by the address, also for a file mapped and unmapped between two reads of
 * /proc/PID/maps. Shares growth_sample's first fields (kind at the same offset). */
struct growth_mapping {
    __u64 weight; /* 0 */
    __u32 tid;
    __u16 kind; /* GROWTH_EVENT_MAPPING */
    __u16 anonymous;
    __u64 start;
    __u64 len;
};

/* One sample (ring buffer "growth_samples"): the registers and a copy of the user stack at
 * a growth event, for user space to unwind with the DWARF CFI of the modules (programs
 * built without frame pointers), and the frame-pointer walk of the kernel as a fallback.
 * The stack copy follows the header, stack_bytes long. */
struct growth_sample {
    __u64 weight; /* bytes of growth this sample stands for (a multiple of the period) */
    __u32 tid;
    __u16 kind;     /* enum growth_sample_kind */
    __u16 fp_depth; /* entries in fp_ips */
    __u64 ip, sp, bp;
    __u64 top_word; /* the word at sp: a leaf function's return address */
    __u64 addr;     /* faults: the faulting address */
    __u32 stack_bytes;
    __u32 pad;
    __u64 fp_ips[GROWTH_MAX_DEPTH];
};

/* Process totals (global "totals" in .bss). */
struct growth_totals {
    __u64 fault_bytes; /* every user page fault, anonymous or not */
    __u64 faults;
    __u64 brk_grow_bytes;
    __u64 brk_shrink_bytes;
    __u64 mmap_anon_bytes;
    __u64 munmap_bytes;
    __u64 heap_calls;
    __u64 samples;       /* samples submitted */
    __u64 sampled_bytes; /* their weights */
    __u64 lost_samples;  /* ring buffer full */
    __u64 lost_bytes;    /* their weights */
    __u64 lost_mappings; /* mapping events lost (ring buffer full) */
    __u64 short_stacks;  /* the full stack slice could not be read: a shorter one was */
    __u64 sample_ns;     /* time spent taking samples (copy and submit), ns */
};

#endif

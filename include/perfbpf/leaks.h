/* Leak tracer (`perfbpf trace --leaks`): what the interposition library (userspace/shim),
 * bpf/leaks.bpf.c and the C++ side share. Fixed-width types only.
 *
 * With `-- CMD` the shim batches allocator events per thread and hands a whole batch to
 * the hook perfbpf_leaks_hook(batch, count, batch_start_ns), whose first instruction is a
 * 5-byte nop (the cheapest uprobe on x86: ≈0.26 µs). The uprobe on that hook applies the
 * batch to the kernel maps. With `-p PID` perfbpf loads the same shim into the running
 * process (ptrace, then dlopen) and calls perfbpf_shim_attach(), which rewrites the
 * allocator entries of every module's GOT; the fallback when it cannot is uprobes in the
 * target's libc, which produce the same map updates. */
#ifndef PERFBPF_LEAKS_H
#define PERFBPF_LEAKS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define LEAKS_BATCH 32         /* events per hook call */
#define LEAKS_MAX_DEPTH 32     /* frames kept per stack */
#define LEAKS_SHIM_ABI 2       /* bumped when the layout below or the hook changes */
#define LEAKS_WEIGHT_ONE 65536 /* weight_q16 of an allocation seen with certainty */

/* The hook the uprobe attaches to (exported by libperfbpf_shim.so). Its third argument is
 * when the batch's first event was recorded (CLOCK_MONOTONIC ns): every event of the
 * batch happened at or after it. */
#define LEAKS_HOOK_SYMBOL "perfbpf_leaks_hook"

/* Injection (`-p PID`): perfbpf makes the target call these in the shim it loaded.
 *   struct leaks_shim_control *perfbpf_shim_attach(__u32 abi, __u32 max_stacks,
 *                                                  __u32 heartbeat_timeout_ms,
 *                                                  const char *maps_file);
 *   int perfbpf_shim_detach(void);  (entries restored)
 *   int perfbpf_shim_rescan(void);  (entries patched in modules loaded since) */
#define LEAKS_ATTACH_SYMBOL "perfbpf_shim_attach"
#define LEAKS_DETACH_SYMBOL "perfbpf_shim_detach"
#define LEAKS_RESCAN_SYMBOL "perfbpf_shim_rescan"

enum leaks_shim_state {
    LEAKS_SHIM_IDLE = 0,
    LEAKS_SHIM_ATTACHED = 1,      /* entries patched, recording */
    LEAKS_SHIM_DETACHED = 2,      /* perfbpf_shim_detach() restored them */
    LEAKS_SHIM_SELF_DETACHED = 3, /* perfbpf stopped writing the heartbeat: restored */
    LEAKS_SHIM_FAILED = 4,        /* attach failed: error, message */
};

/* The shim's state in the target, whose address perfbpf_shim_attach() returns. perfbpf
 * reads it and writes `heartbeat` (any new value) more often than heartbeat_timeout_ms:
 * when the shim sees no change for that long at the start of a batch, it restores every
 * entry by itself (the tracer was killed). */
struct leaks_shim_control {
    __u32 abi;
    __s32 state;           /* enum leaks_shim_state */
    __s32 error;           /* errno of a failed attach or patch */
    __u32 patched_slots;   /* entries pointing at the shim now */
    __u32 patched_modules; /* modules patched by the last attach */
    __u32 restored_slots;  /* entries restored by the last detach */
    __u64 heartbeat;
    __u64 attached_ns;
    __u64 detached_ns;
    char message[96];
};

enum leaks_event_kind {
    LEAKS_EV_ALLOC = 1,     /* ptr, size, stack, weight_q16 */
    LEAKS_EV_FREE = 2,      /* ptr */
    LEAKS_EV_CHURN = 3,     /* an allocation freed before its batch was handed over:
                               size, stack, weight_q16 */
    LEAKS_EV_NEW_STACK = 4, /* stack = id, ptr = address of `size` frames in the target */
    LEAKS_EV_INIT = 5,      /* the shim started in this process image: size = ABI */
};

/* Flags on ALLOC/CHURN events. */
#define LEAKS_FLAG_MMAP 0x1       /* anonymous mmap, not the heap */
#define LEAKS_FLAG_STACK_FULL 0x2 /* stack 0: its frames had no room in the stack table */
/* Flag on NEW_STACK events: the unwinder reached the outermost frame (the CFI of _start,
 * clone and clone3 ends the chain), so the stack is whole whatever the symbols say. */
#define LEAKS_FLAG_UNWIND_END 0x4

struct leaks_event {
    __u64 ptr;
    __u64 size;
    __u64 weight_q16; /* 1/p of a sampled allocation in 1/65536 units; ONE when exact */
    __u32 stack;      /* shim stack id (1-based, per process image), 0 = unknown */
    __u16 kind;       /* enum leaks_event_kind */
    __u16 flags;
};

/* One outstanding allocation (BPF map "live", key: address). */
struct leaks_alloc {
    __u64 size;
    __u64 ts_ns;      /* CLOCK_MONOTONIC when the BPF side saw it */
    __u64 weight_q16; /* as in leaks_event */
    __u32 stack;      /* index into "stack_stats"/"stacks" */
    __u16 owed_frees; /* frees of an earlier allocation at this address still in flight */
    __u16 flags;
};

/* Per-stack totals (BPF per-CPU array "stack_stats", index: stack). Cumulative since the
 * trace started; user space sums the CPUs. Counts of samples and estimated (weighted)
 * amounts: in exact mode est_count_q16 == allocs * 65536 and est_bytes == bytes. */
struct leaks_stack_stats {
    __u64 allocs; /* allocation events (samples in sampled mode) */
    __u64 frees;
    __u64 alloc_bytes; /* raw bytes of the allocation events */
    __u64 free_bytes;
    __u64 est_alloc_q16; /* Σ weight_q16 of allocations */
    __u64 est_free_q16;
    __u64 est_alloc_bytes; /* Σ size * weight of allocations */
    __u64 est_free_bytes;
    /* Allocations the "live" table had no room for: counted as allocated, but neither
     * outstanding nor freed (their frees are not recognised). */
    __u64 untracked;
    __u64 est_untracked_q16;
    __u64 est_untracked_bytes;
};

/* Frames of one stack (BPF array "stacks", index: stack). Innermost first; return
 * addresses except ips[0] in the modes where the BPF side unwinds (flags & IP0_EXACT). */
struct leaks_stack {
    __u32 depth;
    __u32 flags;
    __u32 tgid;
    __u32 pad;
    __u64 ips[LEAKS_MAX_DEPTH];
};

#define LEAKS_STACK_KERNEL 0x1    /* kernel addresses (--kernel) */
#define LEAKS_STACK_IP0_EXACT 0x2 /* ips[0] is the probed instruction, not a return addr */
#define LEAKS_STACK_WHOLE 0x4     /* the unwinder reached the thread's outermost frame */

/* Tracer-wide counters (BPF array "leak_counters", index: enum leaks_counter). */
enum leaks_counter {
    LEAKS_CNT_BATCHES = 0,
    LEAKS_CNT_EVENTS,
    LEAKS_CNT_LIVE_FULL,    /* an allocation could not be tracked: map "live" full */
    LEAKS_CNT_STACK_RANGE,  /* an allocation whose stack id is beyond the "stacks" map */
    LEAKS_CNT_UNKNOWN_FREE, /* free of an address never seen allocated */
    LEAKS_CNT_REPLACED,     /* allocation at an address still live (its free was late) */
    LEAKS_CNT_READ_FAULT,   /* a batch or stack could not be read from the target */
    LEAKS_CNT_STACK_FULL,   /* an allocation whose stack had no room (shim's or BPF's table) */
    LEAKS_CNT_MAX = 16
};

#endif

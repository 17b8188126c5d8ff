/* Scheduler probe family: what bpf/sched.bpf.c produces. */
#ifndef PERFBPF_SCHED_H
#define PERFBPF_SCHED_H

#include "perfbpf/common.h"

#define PERFBPF_TASK_EXITED 0x1

/* A thread's totals as user space decodes them from its slot (sched_thread_slot below):
 * cumulative since the probe first saw the thread (from its birth when it was born after
 * the probe was loaded), so user space counts a thread's first report from zero. With
 * CONFIG_SCHED_INFO (the common case) they are derived from the kernel's own counters
 * (se.sum_exec_runtime, sched_info.run_delay/pcount, nvcsw/nivcsw). */
struct sched_task_stats {
    __u32 pid;
    __u32 tgid;
    __u64 start_ns; /* task start time, CLOCK_MONOTONIC */
    __u64 oncpu_ns;
    __u64 runq_wait_ns; /* runnable (woken or preempted) -> switched in */
    __u64 offcpu_ns;    /* neither running nor runnable: blocked or sleeping */
    __u64 runq_waits;   /* number of run-queue waits */
    __u64 nvcsw;
    __u64 nivcsw;
    __u32 flags; /* PERFBPF_TASK_* */
    char comm[PERFBPF_COMM_LEN];
    __u32 runq_hist[PERFBPF_HIST_SLOTS]; /* log2 µs */
};

/* Per-thread state lives in the slots of an mmapable array ("thread_slots", page-aligned,
 * so each slot starts on a cache line), found by hashing the thread id and probing
 * PERFBPF_THREAD_PROBES neighbours; the thread's first switch-out claims a free one.
 * A slot replaces what task local storage plus a pid-keyed hash did: with 1,000 threads
 * waking every 100 ms, each switch-out found its thread's lines cold, and the storage
 * lookup (three dependent misses) and the copy into the hash cost ≈1 µs a switch. The
 * lines are ordered by who touches them: line 0 at every switch-out, line 1 at a flush,
 * line 2 once, the histogram when the thread waited. User space reads the slots through
 * the mapping, finds the used ones from the bitmap "thread_used" (bit i: slot i claimed)
 * and frees those of exited threads after reading them. Thread ids that differ only in
 * their low PERFBPF_THREAD_GROUP_BITS share a hashed group of adjacent slots (tgid_slot):
 * a pool's threads, created together with consecutive ids, sit on a few pages. */
#define PERFBPF_THREAD_PROBES 8
#define PERFBPF_THREAD_GROUP_BITS 6     /* 64 slots, 20 KiB a group */
#define PERFBPF_THREAD_SLOT_BITS_MIN 14 /* 16,384 slots, 5 MiB */
#define PERFBPF_THREAD_SLOT_BITS_MAX 17
/* Set in tag at the thread's final switch-out: the slot is kept for user space to read
 * and matches no live thread (thread ids stay below 2^22), so a new thread with a reused
 * id takes another. */
#define PERFBPF_THREAD_DEAD 0x80000000U

struct sched_thread_slot {
    /* line 0: every switch-out */
    __u32 tag;  /* thread id (| PERFBPF_THREAD_DEAD), 0 when free */
    __u32 seen; /* base_* are set */
    /* kernel counters at the last switch-out (the fallback: its own measured totals) */
    __u64 oncpu_ns;
    __u64 run_delay_ns;
    __u64 pcount;
    __u64 last_flush_clock; /* sched_info.last_arrival's clock (the fallback: ktime) */
    /* Waits not yet added to runq_hist, all in one slot: (count << 8) | slot, 0 for none.
     * Consecutive waits mostly fall in one slot, so most switch-outs leave the histogram's
     * lines alone. A change of slot clears this word first, then adds the old batch to
     * runq_hist: a reader reads runq_hist, then this word, and adds it. */
    __u64 pending_hist;
    __u64 offcpu_ns; /* as of the last flush */
    /* origin_ns - base_oncpu_ns - base_run_delay_ns (mod 2^64): offcpu at a flush is
     * now - offcpu_origin - oncpu_ns - run_delay_ns, from this line alone */
    __u64 offcpu_origin;
    /* line 1: at a flush */
    __u32 pid;
    __u32 tgid;
    __u64 nvcsw; /* kernel counters as of the last flush (the fallback: counted) */
    __u64 nivcsw;
    __u64 pad1;
    char comm[PERFBPF_COMM_LEN]; /* at first sight and each rename */
    __u32 flags;
    __u32 pad;
    __u64 sleep_start_ns; /* fallback: voluntary switch-out time, 0 when runnable */
    /* line 2: at first sight (the kernel counters then; 0 in the fallback) */
    __u64 start_ns;
    __u64 base_oncpu_ns;
    __u64 base_run_delay_ns;
    __u64 base_pcount;
    __u64 base_nvcsw;
    __u64 base_nivcsw;
    __u64 origin_ns; /* CLOCK_MONOTONIC the totals count from */
    __u64 pad2;
    /* lines 3-4: when the thread waited */
    __u32 runq_hist[PERFBPF_HIST_SLOTS]; /* log2 µs */
};

/* Per-CPU totals (one PERCPU_ARRAY slot; user space reads every CPU's copy). */
struct sched_cpu_stats {
    __u64 busy_ns;      /* on-CPU time of non-idle tasks */
    __u64 runq_wait_ns; /* sum of waits that ended on this CPU: / interval = avg queue */
    __u64 runq_waits;
    __u64 nr_running_sum; /* sampled run-queue length (incl. the running task) */
    __u64 nr_running_samples;
    __u64 runq_hist[PERFBPF_HIST_SLOTS];
    /* bookkeeping of the measuring fallback (no CONFIG_SCHED_INFO) */
    __u64 last_switch_ns;  /* switch-in time of the task now on this CPU */
    __u64 accounted_ns;    /* its on-CPU time is credited up to here */
    __u64 pending_wait_ns; /* run-queue wait of the task now on this CPU */
    __u32 pending_pid;
    __u32 pad;
};

#endif

/* Scheduler probe family: what bpf/sched.bpf.c produces. */
#ifndef PERFBPF_SCHED_H
#define PERFBPF_SCHED_H

#include "perfbpf/common.h"

#define PERFBPF_TASK_EXITED 0x1

/* Cumulative per-thread totals since the probe first saw the thread (from its birth when
 * it was born after the probe was loaded), so user space counts a thread's first report
 * from zero. With CONFIG_SCHED_INFO (the common case) they are derived from the kernel's
 * own counters (se.sum_exec_runtime, sched_info.run_delay/pcount, nvcsw/nivcsw) read at
 * the thread's switch-out. Copied to the hash "task_stats" (key: thread id) at most once
 * per flush period, at the thread's last switch-out and on cpu-clock samples. */
struct sched_task_stats {
    __u32 pid;
    __u32 tgid;
    __u64 cgroup_id;
    __u64 start_ns; /* task start time, CLOCK_MONOTONIC */
    __u64 oncpu_ns;
    __u64 runq_wait_ns; /* runnable (woken or preempted) -> switched in */
    __u64 offcpu_ns;    /* neither running nor runnable: blocked or sleeping */
    __u64 runq_waits;   /* number of run-queue waits */
    __u64 nvcsw;
    __u64 nivcsw;
    __u64 flush_ns; /* CLOCK_MONOTONIC when this copy was made */
    __u32 flags;    /* PERFBPF_TASK_* */
    char comm[PERFBPF_COMM_LEN];
    __u32 runq_hist[PERFBPF_HIST_SLOTS]; /* log2 µs */
};

/* Per-CPU totals (one PERCPU_ARRAY slot; user space reads every CPU's copy). */
struct sched_cpu_stats {
    __u64 busy_ns; /* on-CPU time of non-idle tasks */
    __u64 switches;
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

/* Scheduler probe family: what bpf/sched.bpf.c produces. */
#ifndef PERFBPF_SCHED_H
#define PERFBPF_SCHED_H

#include "perfbpf/common.h"

#define PERFBPF_TASK_EXITED 0x1

/* Cumulative per-thread totals since the probe was loaded. Accumulated in task local
 * storage on the hot path and copied to the hash "task_stats" (key: thread id) at most
 * once per flush period, at the thread's last switch-out and on profiling samples. */
struct sched_task_stats {
    __u32 pid;
    __u32 tgid;
    __u64 cgroup_id;
    __u64 oncpu_ns;
    __u64 runq_wait_ns; /* wakeup or preemption -> switch-in */
    __u64 offcpu_ns;    /* voluntary switch-out -> switch-in */
    __u64 runq_waits;   /* number of run-queue waits measured */
    __u64 nvcsw;
    __u64 nivcsw;
    __u64 flush_ns; /* when this copy was made */
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
    /* bookkeeping of the BPF side */
    __u64 last_switch_ns;  /* switch-in time of the task now on this CPU */
    __u64 accounted_ns;    /* on-CPU time is credited up to here */
    __u64 pending_wait_ns; /* run-queue wait of the task now on this CPU */
    __u32 pending_pid;
    __u32 pad;
};

#endif

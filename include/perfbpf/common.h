/* Types shared by the BPF programs and the C++ side: fixed-width fields only, so the same
 * bytes mean the same thing on both sides. */
#ifndef PERFBPF_COMMON_H
#define PERFBPF_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PERFBPF_COMM_LEN 16
/* log2 histograms: slot 0 counts values < 1 (µs), slot k counts [2^(k-1), 2^k). 32 slots
 * reach 2^31 µs (≈36 min), more than any latency we care about. */
#define PERFBPF_HIST_SLOTS 32

/* Every place the BPF side can lose data increments one of these per-CPU counters (map
 * "drops", shared by all probe families), so user space can show what it did not see. */
enum perfbpf_drop_kind {
    PERFBPF_DROP_RING_FULL = 0,     /* events ring buffer had no room */
    PERFBPF_DROP_TASK_MAP_FULL,     /* sched: no free per-thread slot */
    PERFBPF_DROP_WAKEUP_PID_RANGE,  /* sched: pid beyond the wakeup array (pid_max grew) */
    PERFBPF_DROP_BLOCK_MAP_FULL,    /* block: device or process map full */
    PERFBPF_DROP_BLOCK_INFLIGHT,    /* block: issue timestamp map full */
    PERFBPF_DROP_NET_MAP_FULL,      /* net: process, socket or per-namespace drop map full */
    PERFBPF_DROP_MEM_MAP_FULL,      /* mem: process map full */
    PERFBPF_DROP_LEAKS_LIVE_FULL,   /* leaks: outstanding-allocation map full */
    PERFBPF_DROP_LEAKS_STACKS_FULL, /* leaks: stack table full */
    PERFBPF_DROP_NETNS_FULL,        /* net: no free per-namespace slot */
    PERFBPF_DROP_KIND_COUNT,
    PERFBPF_DROP_KIND_MAX = 16 /* size of the map; room to grow */
};

/* Discrete events, streamed through the shared ring buffer "events". */
enum perfbpf_event_type {
    PERFBPF_EV_EXEC = 1,
    PERFBPF_EV_EXIT = 2,     /* a whole process (thread group) exited */
    PERFBPF_EV_OOM_KILL = 3, /* the OOM killer chose a victim */
};

struct perfbpf_event {
    __u32 type;
    __u32 pid;  /* thread id (the victim's for OOM) */
    __u32 tgid; /* process id */
    __u32 ppid;
    __u64 ts_ns; /* CLOCK_MONOTONIC */
    __u64 cgroup_id;
    __u64 arg0; /* EXIT: exit code; OOM_KILL: victim's total_vm pages */
    __u64 arg1; /* OOM_KILL: victim's rss pages */
    char comm[PERFBPF_COMM_LEN];
};

#endif

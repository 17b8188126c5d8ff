/* Network probe family: what bpf/net.bpf.c produces. */
#ifndef PERFBPF_NET_H
#define PERFBPF_NET_H

#include "perfbpf/common.h"

/* TCP states are numbered 1..13 by include/net/tcp_states.h (stable across kernels);
 * 16 keeps the transition matrix a power of two. */
#define PERFBPF_TCP_STATES 16
#define PERFBPF_TCP_STATE_CLOSE 7
/* Slots of the drop-reason counters, indexed by enum skb_drop_reason (128 values on 6.18,
 * 66 on 6.1). Larger values (subsystem-encoded reasons, future kernels) go to the last slot. */
#define PERFBPF_DROP_REASON_SLOTS 256
#define PERFBPF_DROP_REASON_OTHER (PERFBPF_DROP_REASON_SLOTS - 1)

/* Cumulative per-process (thread-group) totals since load; hash "proc_stats", key tgid.
 * Created in the process's own context (send, receive, connect); updated with atomic adds,
 * since threads of one process run on several CPUs. */
struct net_proc_stats {
    __u64 tx_bytes;    /* accepted by TCP send calls (send, write, sendmsg, sendfile) */
    __u64 rx_bytes;    /* returned by TCP receive calls (MSG_PEEK excluded) */
    __u64 retransmits; /* segments retransmitted on sockets this process owns */
    /* bookkeeping of the BPF side: the socket last entered in sock_owner for this
     * process, so a bulk sender's every send does not look its socket up again */
    __u64 last_sk;
};

/* Cumulative system-wide totals, one PERCPU_ARRAY slot; user space sums the CPUs. */
struct net_cpu_stats {
    __u64 tx_bytes;
    __u64 rx_bytes;
    __u64 retransmits;                   /* segments, as the kernel's RetransSegs counts them */
    __u64 retransmits_unattributed;      /* on sockets without a known owner process */
    __u64 rtt_samples;                   /* tcp:tcp_probe hits with a smoothed RTT */
    __u64 cwnd_sum;                      /* sum of snd_cwnd (segments) over those samples */
    __u64 srtt_hist[PERFBPF_HIST_SLOTS]; /* log2 µs, one per tcp_probe sample */
    __u64 transitions[PERFBPF_TCP_STATES][PERFBPF_TCP_STATES]; /* [old][new], TCP only */
    __u64 drops[PERFBPF_DROP_REASON_SLOTS]; /* kfree_skb by enum skb_drop_reason */
};

#endif

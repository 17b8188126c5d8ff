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

/* A process's cumulative totals since load, as user space takes them from its slot
 * (net_proc_slot below). */
struct net_proc_stats {
    __u64 tx_bytes;    /* accepted by TCP send calls (send, write, sendmsg, sendfile) */
    __u64 rx_bytes;    /* returned by TCP receive calls (MSG_PEEK excluded) */
    __u64 retransmits; /* segments retransmitted on sockets this process owns */
};

/* Per-process entries live in the slots of an mmapable array ("proc_stats", page-aligned,
 * so each 64-byte entry is one cache line) where a hash kept them in an element spread over
 * two or three lines behind a bucket: the send/receive path's largest cost. A process's
 * slot is found by hashing its tgid and probing PERFBPF_NET_PROC_PROBES slots; its first
 * event claims a free one. */
#define PERFBPF_NET_PROC_SLOT_BITS 14
#define PERFBPF_NET_PROC_SLOTS (1 << PERFBPF_NET_PROC_SLOT_BITS)
#define PERFBPF_NET_PROC_PROBES 4

/* Cumulative per-process (thread-group) totals since load. Created in the process's own
 * context (send, receive, connect); updated with atomic adds, since threads of one process
 * run on several CPUs. */
struct net_proc_slot {
    __u32 tgid; /* 0: free */
    __u32 pad;
    __u64 tx_bytes;
    __u64 rx_bytes;
    __u64 retransmits;
    /* bookkeeping of the BPF side: the socket last entered in sock_owner for this
     * process, so a bulk sender's every send does not look its socket up again */
    __u64 last_sk;
    /* bookkeeping: the socket this process last sent [0] and received [1] on and its
     * namespace's inode, so streaming on one socket reads the namespace once; cleared when
     * that socket closes */
    __u64 netns_sk[2];
    __u32 netns_inum[2];
};

/* Cumulative system-wide totals, one PERCPU_ARRAY slot; user space sums the CPUs. */
struct net_cpu_stats {
    __u64 tx_bytes;
    __u64 rx_bytes;
    __u64 retransmits;                   /* segments, as the kernel's RetransSegs counts them */
    __u64 retransmits_unattributed;      /* on sockets without a known owner process */
    __u64 rtt_samples;                   /* tcp:tcp_probe hits kept, with a smoothed RTT */
    __u64 cwnd_sum;                      /* sum of snd_cwnd (segments) over those samples */
    __u64 srtt_hist[PERFBPF_HIST_SLOTS]; /* log2 µs, one per tcp_probe sample */
    __u64 transitions[PERFBPF_TCP_STATES][PERFBPF_TCP_STATES]; /* [old][new], TCP only */
    __u64 drops[PERFBPF_DROP_REASON_SLOTS]; /* kfree_skb by enum skb_drop_reason */
    __u64 last_sample_jiffies; /* bookkeeping: when tcp_probe last sampled windows here */
    __u64 probe_hits;          /* bookkeeping: tcp_probe hits, for keeping 1 in N */
};

/* Per-network-namespace totals: one PERCPU_ARRAY "netns_stats" of slots, a slot per
 * namespace and CPU, tagged with the namespace's inode number (0: free). A namespace's
 * slot is found by hashing its inode and trying PERFBPF_NETNS_PROBES consecutive slots,
 * so the hot paths do array lookups only; user space frees the slots of namespaces that
 * stayed idle. The slot may differ between CPUs: user space sums by tag. */
#define PERFBPF_NETNS_SLOTS_DEFAULT 64
#define PERFBPF_NETNS_PROBES 4
#define PERFBPF_NETNS_DROP_WAYS 8
/* Inode numbers of namespaces start at 0xF0000000; the initial ones just below it
 * (init_net is 0xEFFFFFF9). A value read through a stale pointer is rejected with this. */
#define PERFBPF_NETNS_MIN_INUM 0xEFFFFFF0U

struct net_ns_stats {
    __u32 inum; /* network namespace inode number; 0: free slot */
    __u32 pad;
    /* from here to drop_reason every field is a __u64 counter (user space subtracts them as
     * an array) */
    __u64 tx_bytes;
    __u64 rx_bytes;
    __u64 retransmits;
    __u64 rcvqueue_full;      /* sock:sock_rcvqueue_full */
    __u64 mem_limit_send;     /* sock:sock_exceed_buf_limit, kind SK_MEM_SEND */
    __u64 mem_limit_recv;     /* sock:sock_exceed_buf_limit, kind SK_MEM_RECV */
    __u64 rcvbuf_grow;        /* tcp:tcp_rcvbuf_grow: autotuning wants a larger receive buffer */
    __u64 rcvbuf_grow_at_max; /* of those, sk_rcvbuf already at the namespace's tcp_rmem[2] */
    __u64 rcvbuf_grow_locked; /* of those, on sockets with SO_RCVBUF set (not autotuned) */
    /* tcp:tcp_probe samples: at most one segment per jiffy per CPU */
    __u64 probe_samples;
    __u64 snd_wnd_sum;    /* bytes: the peer's advertised receive window */
    __u64 rcv_wnd_sum;    /* bytes: our advertised receive window */
    __u64 sndbuf_sum;     /* bytes: sk_sndbuf */
    __u64 rcvbuf_sum;     /* bytes: sk_rcvbuf */
    __u64 inflight_sum;   /* bytes sent and not yet acknowledged */
    __u64 bdp_sum;        /* bytes: delivery rate of the last rate sample x smoothed RTT */
    __u64 rwnd_limited;   /* samples with data queued and in flight + 1 MSS >= the peer's window */
    __u64 sndbuf_limited; /* samples with the send queue at sk_sndbuf */
    __u64 sndbuf_at_max;  /* samples with sk_sndbuf >= the namespace's tcp_wmem[2] */
    __u64 rcvbuf_at_max;  /* samples with sk_rcvbuf >= the namespace's tcp_rmem[2] */
    __u64 srtt_hist[PERFBPF_HIST_SLOTS]; /* log2 µs */
    /* Drops by reason, for the first PERFBPF_NETNS_DROP_WAYS reasons this namespace's
     * slot saw (the rest go to the hash "netns_drops"): way i counts drop_count[i] drops
     * with reason drop_reason[i] - 1; drop_reason[i] 0: free. Not counters above. */
    __u32 drop_reason[PERFBPF_NETNS_DROP_WAYS];
    __u64 drop_count[PERFBPF_NETNS_DROP_WAYS];
};

/* Packet drops per namespace and reason beyond a slot's ways: PERCPU_HASH "netns_drops",
 * only touched when a namespace drops for more than PERFBPF_NETNS_DROP_WAYS reasons. The
 * namespace is the one of the socket the packet belonged to (or was received for), else
 * of the device it was on; inum 0 when neither is known. */
struct net_ns_drop_key {
    __u32 inum;
    __u32 reason; /* enum skb_drop_reason, capped at PERFBPF_DROP_REASON_OTHER */
};

#endif

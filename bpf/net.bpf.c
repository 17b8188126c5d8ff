/* Network probe family: per-process TCP bytes sent and received and retransmitted
 * segments; system-wide TCP state transitions, smoothed RTT and cwnd, packet drops by
 * reason.
 *
 * Bytes are counted where the kernel reports what a send or receive call moved, in the
 * caller's context: sock:sock_send_length / sock:sock_recv_length (6.3+), else fexit on
 * tcp_sendmsg / tcp_recvmsg (6.1; user space enables these only when the tracepoints are
 * missing). Retransmissions and state changes mostly run in softirq or timer context where
 * `current` is unrelated, so they are attributed through a socket -> owner map that is
 * filled where the owner is current (send, connect) and emptied when a socket closes. */
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "perfbpf/net.h"

#define MSG_PEEK 2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, struct net_proc_stats);
} proc_stats SEC(".maps");

/* Owner of a TCP socket, keyed by the socket's address. LRU: a socket that closes without
 * a TCP_CLOSE transition we saw, or a server with more sockets than entries, only costs
 * the attribution of that socket's retransmissions (still counted system-wide). An entry
 * evicted while its process keeps sending is restored within 16 MiB (see count_transfer). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, __u32);
} sock_owner SEC(".maps");

/* Per-CPU, yet updated with atomic adds (local and uncontended, a few ns): the same counter
 * is updated in process context and in softirqs that may interrupt it on that CPU, and
 * fexit programs run preemptible. Only the per-ACK RTT sample is a plain update: losing
 * one of those rarely is harmless. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_cpu_stats);
} cpu_stats SEC(".maps");

static __always_inline struct net_cpu_stats *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_stats, &zero);
}

static __always_inline struct net_proc_stats *proc_entry(__u32 tgid)
{
	static const struct net_proc_stats zero;
	struct net_proc_stats *p = bpf_map_lookup_elem(&proc_stats, &tgid);
	long err;

	if (p)
		return p;
	err = bpf_map_update_elem(&proc_stats, &tgid, &zero, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU created it */) {
		count_drop(PERFBPF_DROP_NET_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&proc_stats, &tgid);
}

static __always_inline void remember_owner(const struct sock *sk, __u32 tgid,
					   struct net_proc_stats *p, bool refresh)
{
	__u64 key = (__u64)sk;
	__u32 *owner;

	if (p->last_sk == key && !refresh)
		return;
	p->last_sk = key;
	owner = bpf_map_lookup_elem(&sock_owner, &key);
	if (owner) {
		if (*owner != tgid)
			*owner = tgid;
		return;
	}
	if (bpf_map_update_elem(&sock_owner, &key, &tgid, BPF_ANY))
		count_drop(PERFBPF_DROP_NET_MAP_FULL);
}

/* A socket closed: forget its owner, and make the owner's process look the address up
 * again should a new socket of its own get the same address. */
static __always_inline void forget_owner(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	__u32 *owner = bpf_map_lookup_elem(&sock_owner, &key);
	struct net_proc_stats *p;

	if (!owner)
		return;
	p = bpf_map_lookup_elem(&proc_stats, owner);
	if (p && p->last_sk == key)
		p->last_sk = 0;
	bpf_map_delete_elem(&sock_owner, &key);
}

/* A TCP send or receive call of the current process moved `ret` bytes. */
static __always_inline void count_transfer(const struct sock *sk, int ret, bool tx)
{
	struct net_cpu_stats *cpu = this_cpu();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct net_proc_stats *p;

	if (cpu) {
		if (tx)
			__sync_fetch_and_add(&cpu->tx_bytes, ret);
		else
			__sync_fetch_and_add(&cpu->rx_bytes, ret);
	}
	if (!tgid)
		return;
	p = proc_entry(tgid);
	if (!p)
		return;
	if (tx) {
		__u64 before = p->tx_bytes;

		__sync_fetch_and_add(&p->tx_bytes, ret);
		/* Only sending sockets retransmit: their owner is what retransmissions need.
		 * Looked up again each time the process crosses a 16 MiB mark, in case the
		 * LRU evicted the entry meanwhile. */
		remember_owner(sk, tgid, p, ((before + ret) ^ before) >> 24);
	} else {
		__sync_fetch_and_add(&p->rx_bytes, ret);
	}
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(on_sock_send_length, struct sock *sk, int ret, int flags)
{
	if (ret > 0 && sock_protocol(sk) == IPPROTO_TCP)
		count_transfer(sk, ret, true);
	return 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(on_sock_recv_length, struct sock *sk, int ret, int flags)
{
	/* MSG_PEEK returns bytes that stay queued and are received again later. */
	if (ret > 0 && !(flags & MSG_PEEK) && sock_protocol(sk) == IPPROTO_TCP)
		count_transfer(sk, ret, false);
	return 0;
}

/* Fallback for kernels without sock_send_length / sock_recv_length (before 6.3). Both
 * functions are TCP's own (IPv4 and IPv6), so no protocol check. sendfile() there goes
 * through tcp_sendpage and is not counted. */
SEC("fexit/tcp_sendmsg")
int BPF_PROG(on_tcp_sendmsg, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	if (ret > 0)
		count_transfer(sk, ret, true);
	return 0;
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(on_tcp_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	if (ret > 0 && !(flags & MSG_PEEK))
		count_transfer(sk, ret, false);
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(on_tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	struct net_cpu_stats *cpu;
	struct net_proc_stats *p = NULL;
	__u64 key = (__u64)sk;
	__u32 segs, *owner;

	/* Where the tracepoint has err, it also reports retransmissions that failed. */
	if (tcp_retransmit_has_err_arg() && (int)ctx[2] != 0)
		return 0;
	segs = tcp_skb_segs(skb);
	if (!segs)
		segs = 1;
	cpu = this_cpu();
	if (!cpu)
		return 0;
	__sync_fetch_and_add(&cpu->retransmits, segs);
	owner = bpf_map_lookup_elem(&sock_owner, &key);
	/* Look up only: a process that exited has no entry, and none is created for it. */
	if (owner)
		p = bpf_map_lookup_elem(&proc_stats, owner);
	if (p)
		__sync_fetch_and_add(&p->retransmits, segs);
	else
		__sync_fetch_and_add(&cpu->retransmits_unattributed, segs);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(on_inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct net_cpu_stats *cpu;

	if (sock_protocol(sk) != IPPROTO_TCP)
		return 0;
	cpu = this_cpu();
	if (cpu)
		__sync_fetch_and_add(&cpu->transitions[oldstate & (PERFBPF_TCP_STATES - 1)]
						      [newstate & (PERFBPF_TCP_STATES - 1)],
				     1);
	if (newstate == TCP_SYN_SENT) {
		/* connect(): the owner is current; its SYNs may be retransmitted. */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct net_proc_stats *p = tgid ? proc_entry(tgid) : NULL;

		if (p)
			remember_owner(sk, tgid, p, true);
	} else if (newstate == TCP_CLOSE) {
		/* The address may be reused by a socket of another process. */
		forget_owner(sk);
	}
	return 0;
}

/* Fires on every incoming ACK of an established connection: one array lookup and three
 * field reads, no hash. */
SEC("raw_tp/tcp_probe")
int BPF_PROG(on_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_sock *tp = (const void *)sk;
	__u32 srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3; /* kept as 8 * srtt */
	struct net_cpu_stats *cpu;

	if (!srtt_us)
		return 0; /* no RTT sample yet */
	cpu = this_cpu();
	if (!cpu)
		return 0;
	cpu->rtt_samples++;
	cpu->cwnd_sum += BPF_CORE_READ(tp, snd_cwnd);
	cpu->srtt_hist[hist_slot_us((__u64)srtt_us * 1000)]++;
	return 0;
}

/* A packet dropped, with the kernel's reason. 6.18 passes a fourth argument (the receiving
 * socket) that is not read. Normal frees go to skb:consume_skb, or arrive here as
 * SKB_CONSUMED on kernels that have it, which is skipped. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct net_cpu_stats *cpu;
	__u32 slot = (__u32)reason;

	if ((int)slot == skb_consumed_reason())
		return 0;
	cpu = this_cpu();
	if (!cpu)
		return 0;
	if (slot > PERFBPF_DROP_REASON_OTHER)
		slot = PERFBPF_DROP_REASON_OTHER;
	__sync_fetch_and_add(&cpu->drops[slot & (PERFBPF_DROP_REASON_SLOTS - 1)], 1);
	return 0;
}

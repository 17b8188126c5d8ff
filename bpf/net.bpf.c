/* Network probe family: per-process TCP bytes sent and received and retransmitted
 * segments; system-wide TCP state transitions, smoothed RTT and cwnd, packet drops by
 * reason; per network namespace the same bytes, retransmits and drops, socket buffer and
 * protocol memory limits hit, receive-buffer autotuning at its maximum, and sampled TCP
 * windows and buffers (the evidence for tuning tcp_rmem/tcp_wmem and backlogs there).
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
#define SK_MEM_SEND 0
#define SOCK_SNDBUF_LOCK 1
#define SOCK_RCVBUF_LOCK 2

/* Set by user space before load: entries of netns_stats - 1 (a power of two minus 1). */
const volatile __u32 netns_slot_mask = PERFBPF_NETNS_SLOTS_DEFAULT - 1;

/* Written by user space at run time (the daemon's governor sheds work): tcp_probe keeps
 * 1 in (tcp_probe_keep_mask + 1) segments per CPU; 0 keeps every one. */
volatile __u32 tcp_probe_keep_mask;

/* Per process, in slots (see net.h); user space reads it through a mapping and frees the
 * slots of processes that exited. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, PERFBPF_NET_PROC_SLOTS);
	__type(key, __u32);
	__type(value, struct net_proc_slot);
} proc_stats SEC(".maps");

_Static_assert(sizeof(struct net_proc_slot) == 64, "a process's slot is one cache line");
_Static_assert(__builtin_offsetof(struct net_proc_slot, tgid) == 0, "tgid_slot's tag");

/* Who claimed a slot (slot -> tgid, see claim_slot): touched only at a process's first
 * event. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PERFBPF_NET_PROC_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} proc_claims SEC(".maps");

SLOT_USED_MAP(proc_used, PERFBPF_NET_PROC_SLOTS);

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

/* Per-namespace slots, see include/perfbpf/net.h; resized from user space before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PERFBPF_NETNS_SLOTS_DEFAULT);
	__type(key, __u32);
	__type(value, struct net_ns_stats);
} netns_stats SEC(".maps");

/* Drops per namespace and reason beyond a slot's ways (see net_ns_stats). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct net_ns_drop_key);
	__type(value, __u64);
} netns_drops SEC(".maps");

static __always_inline struct net_cpu_stats *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_stats, &zero);
}

static __always_inline __u32 valid_inum(__u32 inum)
{
	return inum >= PERFBPF_NETNS_MIN_INUM ? inum : 0;
}

/* Inode number of a socket's network namespace (two probe reads). */
static __always_inline __u32 sock_netns(const struct sock *sk)
{
	return valid_inum(BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum));
}

/* This CPU's slot of namespace `inum`, claimed when the namespace has none yet. A slot is
 * claimed by one CPU for itself, so no atomics are needed, except for a softirq program
 * interrupting a claim on the same CPU: then the first counts of one of the two land in
 * the other's slot, once. */
static __always_inline struct net_ns_stats *netns_slot(__u32 inum)
{
	__u32 home = (inum * 2654435761U) >> 16;

	if (!inum)
		return NULL;
#pragma unroll
	for (int i = 0; i < PERFBPF_NETNS_PROBES; i++) {
		__u32 key = (home + i) & netns_slot_mask;
		struct net_ns_stats *e = bpf_map_lookup_elem(&netns_stats, &key);

		if (!e)
			return NULL;
		if (e->inum == inum)
			return e;
		if (!e->inum) {
			e->inum = inum;
			return e;
		}
	}
	count_drop(PERFBPF_DROP_NETNS_FULL);
	return NULL;
}

/* The same through a BTF pointer (tp_btf and fexit arguments): two plain loads where the
 * probed version makes two helper calls. */
static __always_inline __u32 sock_netns_btf(const struct sock *sk)
{
	return valid_inum(sk->__sk_common.skc_net.net->ns.inum);
}

static __always_inline struct net_ns_stats *sock_netns_slot(const struct sock *sk)
{
	return netns_slot(sock_netns(sk));
}

/* The slot of process tgid; with create, a free one is claimed when it has none. */
static __always_inline struct net_proc_slot *proc_slot(__u32 tgid, bool create)
{
	__u32 idx;

	return tgid_slot(&proc_stats, &proc_claims, &proc_used, PERFBPF_NET_PROC_SLOT_BITS, 0,
			 PERFBPF_NET_PROC_PROBES, tgid, create, PERFBPF_DROP_NET_MAP_FULL, &idx,
			 NULL);
}

static __always_inline void remember_owner(const struct sock *sk, __u32 tgid,
					   struct net_proc_slot *p, bool refresh)
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

static __always_inline void forget_netns_cache(struct net_proc_slot *p, const struct sock *sk)
{
	if (!p)
		return;
	if (p->netns_sk[0] == (__u64)sk)
		p->netns_sk[0] = 0;
	if (p->netns_sk[1] == (__u64)sk)
		p->netns_sk[1] = 0;
}

/* A socket closed: forget its owner, and make the owner's process look the address up
 * again should a new socket of its own get the same address (for sock_owner and for the
 * namespace; the closing process is usually the owner, and is checked too). */
static __always_inline void forget_owner(const struct sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 key = (__u64)sk;
	__u32 *owner = bpf_map_lookup_elem(&sock_owner, &key);
	struct net_proc_slot *p;

	if (tgid)
		forget_netns_cache(proc_slot(tgid, false), sk);
	if (!owner)
		return;
	p = proc_slot(*owner, false);
	if (p && p->last_sk == key)
		p->last_sk = 0;
	forget_netns_cache(p, sk);
	bpf_map_delete_elem(&sock_owner, &key);
}

/* Namespace of a socket the current process sends (tx) or receives on, remembered in its
 * entry for the last such socket: a process streaming on one socket reads it once. (The
 * socket is compared as a whole pointer: fexit's BTF pointers allow no arithmetic. Two
 * threads of one process streaming at once into different namespaces may, rarely, pair a
 * socket with the other's namespace for a call.) */
static __always_inline __u32 transfer_netns(const struct sock *sk, struct net_proc_slot *p, bool tx,
					    bool btf)
{
	const int i = tx ? 0 : 1;
	__u32 inum;

	if (!p)
		return btf ? sock_netns_btf(sk) : sock_netns(sk);
	if (p->netns_sk[i] == (__u64)sk)
		return p->netns_inum[i];
	inum = btf ? sock_netns_btf(sk) : sock_netns(sk);
	if (inum) {
		p->netns_inum[i] = inum;
		p->netns_sk[i] = (__u64)sk;
	}
	return inum;
}

/* A TCP send or receive call of the current process moved `ret` bytes; sk is a BTF pointer
 * (btf) or, in the raw_tp fallback, a raw one.
 *
 * The per-CPU totals (this CPU's line and its namespace slot) are written by this function
 * only, and it runs only in process context: sock_sendmsg and sock_recvmsg may sleep, so no
 * interrupt or softirq ever calls them. From a tracepoint, with preemption off, nothing else
 * on this CPU can write those totals meanwhile and plain adds are exact (a lock-prefixed add
 * costs ≈20 cycles even on a line this CPU holds). The fexit fallback is preemptible (only
 * migration is disabled): two tasks on one CPU may interleave there, so it passes
 * `preemptible` and keeps the atomic adds. A process's slot is shared by its threads on
 * every CPU: always atomic. */
static __always_inline void count_transfer(const struct sock *sk, int ret, bool tx,
					   bool preemptible, bool btf)
{
	struct net_cpu_stats *cpu = this_cpu();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct net_proc_slot *p = proc_slot(tgid, true);
	struct net_ns_stats *ns = netns_slot(transfer_netns(sk, p, tx, btf));
	__u64 *cpu_total = NULL, *ns_total = NULL;

	if (cpu)
		cpu_total = tx ? &cpu->tx_bytes : &cpu->rx_bytes;
	if (ns)
		ns_total = tx ? &ns->tx_bytes : &ns->rx_bytes;
	if (preemptible) {
		if (cpu_total)
			__sync_fetch_and_add(cpu_total, ret);
		if (ns_total)
			__sync_fetch_and_add(ns_total, ret);
	} else {
		if (cpu_total)
			*cpu_total += ret;
		if (ns_total)
			*ns_total += ret;
	}
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

/* tp_btf where it loads: the socket is a BTF pointer, so its protocol and namespace are
 * plain loads (the raw_tp fallback must probe-read each, ≈20 ns a read); the hook's
 * dispatch is the same. MSG_PEEK returns bytes that stay queued and are received again
 * later. */
static __always_inline int sock_length(const struct sock *sk, int ret, int flags, bool tx, bool btf)
{
	if (ret <= 0 || (!tx && (flags & MSG_PEEK)))
		return 0;
	if ((btf ? sock_protocol_btf(sk) : sock_protocol(sk)) == IPPROTO_TCP)
		count_transfer(sk, ret, tx, false, btf);
	return 0;
}

BTF_OR_RAW_TP(sock_send_length, on_sock_send_length, sock_length(sk, ret, flags, true, btf),
	      struct sock *sk, int ret, int flags)
BTF_OR_RAW_TP(sock_recv_length, on_sock_recv_length, sock_length(sk, ret, flags, false, btf),
	      struct sock *sk, int ret, int flags)

/* Fallback for kernels without sock_send_length / sock_recv_length (before 6.3). Both
 * functions are TCP's own (IPv4 and IPv6), so no protocol check. sendfile() there goes
 * through tcp_sendpage and is not counted. */
SEC("fexit/tcp_sendmsg")
int BPF_PROG(on_tcp_sendmsg, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	if (ret > 0)
		count_transfer(sk, ret, true, true, true);
	return 0;
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(on_tcp_recvmsg, struct sock *sk, struct msghdr *msg, size_t len, int flags,
	     int *addr_len, int ret)
{
	if (ret > 0 && !(flags & MSG_PEEK))
		count_transfer(sk, ret, false, true, true);
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(on_tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	struct net_cpu_stats *cpu;
	struct net_proc_slot *p = NULL;
	struct net_ns_stats *ns;
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
	ns = sock_netns_slot(sk);
	if (ns)
		__sync_fetch_and_add(&ns->retransmits, segs);
	owner = bpf_map_lookup_elem(&sock_owner, &key);
	/* Look up only: a process that exited has no entry, and none is created for it. */
	if (owner)
		p = proc_slot(*owner, false);
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
		struct net_proc_slot *p = proc_slot(tgid, true);

		if (p)
			remember_owner(sk, tgid, p, true);
	} else if (newstate == TCP_CLOSE) {
		/* The address may be reused by a socket of another process. */
		forget_owner(sk);
	}
	return 0;
}

/* The per-namespace sample of one segment's socket: windows, buffers and what limits the
 * sender. About fourteen loads over several cold cache lines, so it runs for at most one
 * segment per jiffy per CPU: every segment of a slow connection, a few hundred per second
 * and CPU of a fast one. */
static __always_inline void sample_windows(const struct tcp_sock *tp, __u32 srtt_us, bool btf)
{
	const struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	const struct net *net = KFIELD(btf, sk, __sk_common.skc_net.net);
	struct net_ns_stats *ns = netns_slot(valid_inum(KFIELD(btf, net, ns.inum)));
	__u32 snd_wnd, mss, inflight, interval_us;
	__s32 sndbuf, rcvbuf, queued;
	__u64 delivered;
	__u8 locks;

	if (!ns)
		return;
	snd_wnd = KFIELD(btf, tp, snd_wnd);
	mss = KFIELD(btf, tp, mss_cache);
	inflight = KFIELD(btf, tp, snd_nxt) - KFIELD(btf, tp, snd_una);
	sndbuf = KFIELD(btf, sk, sk_sndbuf);
	rcvbuf = KFIELD(btf, sk, sk_rcvbuf);
	queued = KFIELD(btf, sk, sk_wmem_queued);
	locks = btf ? sock_userlocks_btf(sk) : sock_userlocks(sk);
	ns->probe_samples++;
	ns->srtt_hist[hist_slot_us((__u64)srtt_us * 1000)]++;
	ns->snd_wnd_sum += snd_wnd;
	ns->rcv_wnd_sum += KFIELD(btf, tp, rcv_wnd);
	ns->sndbuf_sum += sndbuf;
	ns->rcvbuf_sum += rcvbuf;
	ns->inflight_sum += inflight;
	/* The last delivery-rate sample: rate_delivered segments in rate_interval_us. */
	interval_us = KFIELD(btf, tp, rate_interval_us);
	delivered = KFIELD(btf, tp, rate_delivered);
	if (interval_us)
		ns->bdp_sum += delivered * mss * srtt_us / interval_us;
	if (queued > 0 && (__u64)inflight + mss >= snd_wnd)
		ns->rwnd_limited++;
	if (queued >= sndbuf)
		ns->sndbuf_limited++;
	if (!(locks & SOCK_SNDBUF_LOCK) && sndbuf >= KFIELD(btf, net, ipv4.sysctl_tcp_wmem[2]))
		ns->sndbuf_at_max++;
	if (!(locks & SOCK_RCVBUF_LOCK) && rcvbuf >= KFIELD(btf, net, ipv4.sysctl_tcp_rmem[2]))
		ns->rcvbuf_at_max++;
}

/* Fires on every segment received on an established connection (data and ACKs): one
 * array lookup, two field loads and the jiffies counter; at most once per jiffy it samples
 * the namespace's windows. No hash. tp_btf where it loads: the socket is a BTF pointer,
 * so its fields are plain loads instead of probe reads (≈20 ns each); bpf_skc_to_tcp_sock
 * gives the verifier the tcp_sock type (the hook fires for TCP sockets only). */
static __always_inline int tcp_probe(struct sock *sk, bool btf)
{
	struct net_cpu_stats *cpu = this_cpu();
	__u32 keep_mask = tcp_probe_keep_mask;
	struct tcp_sock *tp;
	__u32 srtt_us;
	__u64 jiffies;

	if (!cpu)
		return 0;
	/* Shedding skips the socket reads too: a skipped segment costs the hook and a
	 * per-CPU increment. */
	if (keep_mask && (++cpu->probe_hits & keep_mask))
		return 0;
	tp = btf ? bpf_skc_to_tcp_sock(sk) : (struct tcp_sock *)sk;
	if (!tp)
		return 0;
	srtt_us = KFIELD(btf, tp, srtt_us) >> 3; /* kept as 8 * srtt */
	if (!srtt_us)
		return 0; /* no RTT sample yet */
	cpu->rtt_samples++;
	cpu->cwnd_sum += KFIELD(btf, tp, snd_cwnd);
	cpu->srtt_hist[hist_slot_us((__u64)srtt_us * 1000)]++;
	jiffies = bpf_jiffies64();
	if (jiffies != cpu->last_sample_jiffies) {
		cpu->last_sample_jiffies = jiffies;
		sample_windows(tp, srtt_us, btf);
	}
	return 0;
}

BTF_OR_RAW_TP(tcp_probe, on_tcp_probe, tcp_probe(sk, btf), struct sock *sk,
	      const struct sk_buff *skb)

/* A datagram or raw socket's receive queue was at its SO_RCVBUF (__sock_queue_rcv_skb);
 * the packet is dropped. */
SEC("raw_tp/sock_rcvqueue_full")
int BPF_PROG(on_sock_rcvqueue_full, struct sock *sk, struct sk_buff *skb)
{
	struct net_ns_stats *ns = sock_netns_slot(sk);

	if (ns)
		__sync_fetch_and_add(&ns->rcvqueue_full, 1);
	return 0;
}

/* The protocol's memory (tcp_mem, udp_mem) or the socket's cgroup refused a buffer
 * allocation (__sk_mem_raise_allocated). */
SEC("raw_tp/sock_exceed_buf_limit")
int BPF_PROG(on_sock_exceed_buf_limit, struct sock *sk, struct proto *prot, long allocated,
	     int kind)
{
	struct net_ns_stats *ns = sock_netns_slot(sk);

	if (!ns)
		return 0;
	if (kind == SK_MEM_SEND)
		__sync_fetch_and_add(&ns->mem_limit_send, 1);
	else
		__sync_fetch_and_add(&ns->mem_limit_recv, 1);
	return 0;
}

/* Receive-buffer autotuning (tcp_rcv_space_adjust) found the application reading more
 * than the buffer's space and is about to grow it, capped at the namespace's tcp_rmem[2].
 * Fires before the new size is set: a buffer already at the cap cannot grow. A 2025
 * tracepoint: 6.18 has it, 6.1 does not. */
SEC("raw_tp/tcp_rcvbuf_grow")
int BPF_PROG(on_tcp_rcvbuf_grow, struct sock *sk, int time)
{
	const struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	struct net_ns_stats *ns = netns_slot(valid_inum(BPF_CORE_READ(net, ns.inum)));

	if (!ns)
		return 0;
	__sync_fetch_and_add(&ns->rcvbuf_grow, 1);
	if (sock_userlocks(sk) & SOCK_RCVBUF_LOCK)
		__sync_fetch_and_add(&ns->rcvbuf_grow_locked, 1);
	else if (BPF_CORE_READ(sk, sk_rcvbuf) >= BPF_CORE_READ(net, ipv4.sysctl_tcp_rmem[2]))
		__sync_fetch_and_add(&ns->rcvbuf_grow_at_max, 1);
	return 0;
}

/* Namespace of a dropped packet: its receiving socket's (6.18), its own socket's, else its
 * device's; 0 when none is known. skb->dev and skb->sk are neighbours (6.1 and 6.18), read
 * with one probe read where CO-RE finds them so. */
static __always_inline __u32 skb_netns(const struct sk_buff *skb, const struct sock *rx_sk)
{
	const __u32 dev_off = bpf_core_field_offset(struct sk_buff, dev);
	const __u32 sk_off = bpf_core_field_offset(struct sk_buff, sk);
	const struct net_device *dev = NULL;
	const struct sock *sk = rx_sk;
	__u64 pair[2];

	if (!sk) {
		if (sk_off == dev_off + sizeof(__u64) &&
		    !bpf_probe_read_kernel(pair, sizeof(pair), (const void *)skb + dev_off)) {
			dev = (const void *)pair[0];
			sk = (const void *)pair[1];
		} else {
			sk = BPF_CORE_READ(skb, sk);
			dev = sk ? NULL : BPF_CORE_READ(skb, dev);
		}
	}
	if (sk)
		return sock_netns(sk);
	if (dev)
		return valid_inum(BPF_CORE_READ(dev, nd_net.net, ns.inum));
	return 0;
}

/* A packet dropped, with the kernel's reason; 6.18 also passes the receiving socket. Normal
 * frees go to skb:consume_skb, or arrive here as
 * SKB_CONSUMED on kernels that have it, which is skipped. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	static const __u64 one = 1;
	struct net_ns_drop_key key;
	struct net_cpu_stats *cpu;
	struct net_ns_stats *ns;
	__u32 slot = (__u32)reason;
	__u64 *n;

	if ((int)slot == skb_consumed_reason())
		return 0;
	cpu = this_cpu();
	if (!cpu)
		return 0;
	if (slot > PERFBPF_DROP_REASON_OTHER)
		slot = PERFBPF_DROP_REASON_OTHER;
	/* Bound the register the verifier sees, as hist_slot_us does: slot is used twice. */
	asm volatile("%[s] &= %[m]" : [s] "+r"(slot) : [m] "i"(PERFBPF_DROP_REASON_SLOTS - 1));
	__sync_fetch_and_add(&cpu->drops[slot], 1);
	key.inum = skb_netns(skb, kfree_skb_has_rx_sk() ? (const struct sock *)ctx[3] : NULL);
	key.reason = slot;
	ns = netns_slot(key.inum);
	if (ns) {
		/* The first reasons a namespace drops for are counted in its slot: array
		 * memory, no hash. A claim interrupted on this CPU by a drop of another reason
		 * can mix the first counts of the two, once. */
#pragma unroll
		for (int i = 0; i < PERFBPF_NETNS_DROP_WAYS; i++) {
			if (ns->drop_reason[i] == slot + 1) {
				__sync_fetch_and_add(&ns->drop_count[i], 1);
				return 0;
			}
			if (!ns->drop_reason[i]) {
				ns->drop_reason[i] = slot + 1;
				__sync_fetch_and_add(&ns->drop_count[i], 1);
				return 0;
			}
		}
	}
	n = bpf_map_lookup_elem(&netns_drops, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return 0;
	}
	if (!bpf_map_update_elem(&netns_drops, &key, &one, BPF_NOEXIST))
		return 0;
	/* Another CPU created it meanwhile (with this CPU's copy at zero), or the map is full. */
	n = bpf_map_lookup_elem(&netns_drops, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count_drop(PERFBPF_DROP_NET_MAP_FULL);
	return 0;
}

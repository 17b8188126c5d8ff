/* Every CO-RE shim for a kernel difference lives here, each naming the change it covers. */
#ifndef PERFBPF_CORE_FIXES_BPF_H
#define PERFBPF_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* v5.14 (2f064a59a11f) renamed task_struct->state to __state. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/* v5.6 ("sock: Make sk_protocol a 16-bit value") made sock->sk_protocol a plain u16; before it was
 * an 8-bit bitfield. The probed bitfield read handles both layouts. */
static __always_inline __u16 sock_protocol(const struct sock *sk)
{
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/* The same through a BTF pointer (tp_btf, fentry/fexit arguments): a plain load. */
static __always_inline __u16 sock_protocol_btf(const struct sock *sk)
{
	return (__u16)BPF_CORE_READ_BITFIELD(sk, sk_protocol);
}

/* tcp:tcp_retransmit_skb gained a third argument, int err, on recent kernels (6.18 has it,
 * 6.1 does not), and since then also fires for retransmissions that failed. Its trace
 * event record gained the field "err" at the same time, which is what CO-RE can see. A
 * raw_tp program may not read past the arguments of the kernel it runs on, so the read of
 * ctx[2] must stay behind this constant. */
static __always_inline bool tcp_retransmit_has_err_arg(void)
{
	return bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb, err);
}

/* enum skb_drop_reason gained SKB_CONSUMED after 6.1 (6.18 has it), so kfree_skb_reason()
 * can name a normal free; 6.1 has no such value and reports normal frees only through
 * skb:consume_skb. Returns -1 where the value does not exist. */
static __always_inline int skb_consumed_reason(void)
{
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED))
		return bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED);
	return -1;
}

/* Segments in a TCP write-queue skb (tcp_skb_pcount): TCP_SKB_CB(skb)->tcp_gso_segs, the
 * control block that TCP keeps in skb->cb. */
static __always_inline __u32 tcp_skb_segs(const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb =
		(const void *)((const char *)skb + bpf_core_field_offset(struct sk_buff, cb));

	return BPF_CORE_READ(cb, tcp_gso_segs);
}

/* v6.2 (f1a7941243c1 "mm: convert mm's rss stats into percpu_counter") turned
 * mm->rss_stat from struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; } into
 * struct percpu_counter rss_stat[NR_MM_COUNTERS]. The same change dropped the third
 * argument (the new count) of the rss_stat tracepoint, so we read the counters instead.
 * A percpu_counter's .count is the kernel's own approximation (get_mm_counter()): it
 * misses the per-CPU deltas not yet folded in, at most percpu_counter_batch - 1 pages
 * per CPU and counter (batch = max(32, 2 * nr_cpus)): 744 KiB for three counters on two
 * CPUs, a fixed bound, not a share. Measured on 6.18 after touching 256 MiB: 90-270 KiB
 * below VmRSS (which sums the per-CPU deltas there), under 0.1 %; on 6.1 equal. Summing
 * the per-CPU deltas would take a loop over CPUs per event; not worth it. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* Indexes into rss_stat; unchanged since v4.5 added MM_SHMEMPAGES. */
#define PERFBPF_MM_FILEPAGES 0
#define PERFBPF_MM_ANONPAGES 1
#define PERFBPF_MM_SHMEMPAGES 3

static __always_inline __s64 clamp_pages(__s64 v)
{
	return v > 0 ? v : 0;
}

/* Resident pages of an address space: file + anon + shmem, as get_mm_rss() sums them.
 * For any pointer (a raw tracepoint argument): one probe read of the span that holds the
 * three counters (≈35 ns; three separate reads cost ≈75 ns). */
static __always_inline __u64 mm_rss_pages(struct mm_struct *mm)
{
	__u64 buf[32];
	__u32 file, anon, shmem, len;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;

		file = bpf_core_field_offset(old->rss_stat.count[PERFBPF_MM_FILEPAGES].counter);
		anon = bpf_core_field_offset(old->rss_stat.count[PERFBPF_MM_ANONPAGES].counter);
		shmem = bpf_core_field_offset(old->rss_stat.count[PERFBPF_MM_SHMEMPAGES].counter);
	} else {
		file = bpf_core_field_offset(mm->rss_stat[PERFBPF_MM_FILEPAGES].count);
		anon = bpf_core_field_offset(mm->rss_stat[PERFBPF_MM_ANONPAGES].count);
		shmem = bpf_core_field_offset(mm->rss_stat[PERFBPF_MM_SHMEMPAGES].count);
	}
	if (anon <= file || shmem <= anon)
		return 0;
	len = shmem - file + sizeof(__s64);
	if (len > sizeof(buf))
		return 0;
	if (bpf_probe_read_kernel(buf, len, (void *)mm + file))
		return 0;
	return clamp_pages(*(__s64 *)buf) + clamp_pages(*(__s64 *)((void *)buf + (anon - file))) +
	       clamp_pages(*(__s64 *)((void *)buf + (shmem - file)));
}

/* The same for a BTF pointer the verifier knows (current->mm reached from
 * bpf_get_current_task_btf()): plain loads, ≈1 ns each, on the hot path of 6.2+ where
 * rss_stat fires on every fault. The 6.1 verifier cannot walk into the atomic_long_t
 * array of struct mm_rss_stat ("Type 'atomic_long_t' is not a struct"), so there the
 * probe read is used; 6.1 also fires rss_stat far less often (SPLIT_RSS_COUNTING batches a
 * thread's changes: one event per 64 faults). */
static __always_inline __u64 mm_rss_pages_btf(struct mm_struct *mm)
{
	if (bpf_core_type_exists(struct mm_rss_stat___pre62))
		return mm_rss_pages(mm);
	return clamp_pages(mm->rss_stat[PERFBPF_MM_FILEPAGES].count) +
	       clamp_pages(mm->rss_stat[PERFBPF_MM_ANONPAGES].count) +
	       clamp_pages(mm->rss_stat[PERFBPF_MM_SHMEMPAGES].count);
}

/* skb:kfree_skb gained a fourth argument, the receiving socket (rx_sk), after 6.1 (6.18 has
 * it, with the record field "rx_sk"). It names the socket of drops in TCP's receive path,
 * where skb->sk is not set. A raw_tp program may not read past the arguments of the kernel
 * it runs on, so the read of ctx[3] must stay behind this constant. */
static __always_inline bool kfree_skb_has_rx_sk(void)
{
	return bpf_core_field_exists(struct trace_event_raw_kfree_skb, rx_sk);
}

/* sock->sk_userlocks is a 4-bit bitfield on 6.1 and a plain u8 on 6.18; the probed
 * bitfield read handles both layouts. */
static __always_inline __u8 sock_userlocks(const struct sock *sk)
{
	return (__u8)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_userlocks);
}

static __always_inline __u8 sock_userlocks_btf(const struct sock *sk)
{
	return (__u8)BPF_CORE_READ_BITFIELD(sk, sk_userlocks);
}

#endif

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

#endif

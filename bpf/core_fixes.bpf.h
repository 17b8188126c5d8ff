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

#endif

/* The user stack of the current task, copied for user space to unwind with DWARF CFI
 * (programs built without frame pointers): shared by growth mode (at the target's faults
 * and heap growth) and kernel mode (at the target's kernel allocations). */
#ifndef PERFBPF_USER_STACK_BPF_H
#define PERFBPF_USER_STACK_BPF_H

#include "common.bpf.h"
#include "perfbpf/leaks_growth.h"

/* Copies the user stack from sp up to GROWTH_STACK_BYTES into dst. bpf_probe_read_user
 * fails as a whole on a range that runs off the stack's mapping, and the main thread's
 * stack top is often nearer than that: its frames end below mm->start_stack (argc), so the
 * copy stops there and *short_stacks counts it. (bpf_find_vma cannot tell the mapping's end
 * where growth mode calls this: the page-fault program has just used it, and it refuses a
 * second call while the first one's unlock is pending.) Other threads' stacks read whole,
 * or through the shorter reads that follow. Returns the bytes copied. */
static __always_inline __u32 copy_user_stack(__u8 *dst, __u64 sp, __u64 *short_stacks)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 top = BPF_CORE_READ(task, mm, start_stack), n = GROWTH_STACK_BYTES;

	if (sp < top && top - sp < n) {
		n = top - sp;
		__sync_fetch_and_add(short_stacks, 1);
	}
	if (n > GROWTH_STACK_BYTES) /* the verifier's bound on a variable-size read */
		n = GROWTH_STACK_BYTES;
	if (n && !bpf_probe_read_user(dst, n, (void *)sp))
		return n;
	if (!bpf_probe_read_user(dst, GROWTH_STACK_BYTES / 2, (void *)sp))
		return GROWTH_STACK_BYTES / 2;
	if (!bpf_probe_read_user(dst, GROWTH_STACK_BYTES / 8, (void *)sp))
		return GROWTH_STACK_BYTES / 8;
	return 0;
}

#endif

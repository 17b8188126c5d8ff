/* Memory probe family: per-process resident memory (level and peak) from the kernel's own
 * RSS counters, lifetime fault totals of processes as they exit, and OOM kills.
 *
 * kmem:rss_stat fires on every change of an address space's RSS counters: on 6.2+ once
 * per page fault on anonymous memory and once per batch on unmap (6.1 batches a thread's
 * fault-path changes, one event per 64). It is the hot path, so it does no hash lookup and
 * keeps no per-event history: it reads the level (three counters, plain loads through
 * current->mm) and stores it in an ARRAY slot indexed by tgid, which user space maps and
 * reads once per interval. Measured here: ≈15 ns of program per event, +≈75 ns per 4 KiB
 * page fault with the tracepoint's own dispatch (1.04× on a fault-only loop; see
 * bench/mem_fault_cost). Storing the level, not a delta, makes every event a full
 * correction: a change we chose not to attribute (see on_rss_stat) is picked up by the
 * process's next one. That is also why there is no rate limit: skipping events would
 * leave a level stale by an unknown amount (an unmap is one event for any size) until the
 * process's next change, which may never come.
 *
 * Page faults are not counted here. exceptions:page_fault_user would add a second hook to
 * every fault (its dispatch alone costs about what rss_stat costs), has no minor/major
 * flag, and counts differently from the kernel (spurious and failed faults in, faults the
 * kernel takes on user memory in system calls out). The kernel already keeps exact
 * per-task minor/major counters: user space reads them from /proc/PID/stat for running
 * processes, and the exit hook below records a process's totals as it exits. */
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "perfbpf/mem.h"

#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000

/* Set by user space before load. */
const volatile __u32 rss_slots = 32768; /* entries of rss, = pid_max */

/* max_entries is replaced with pid_max by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct mem_rss_slot);
} rss SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct mem_exit);
} exits SEC(".maps");

static __always_inline struct mem_rss_slot *slot_of(__u32 tgid)
{
	if (!tgid)
		return NULL;
	if (tgid >= rss_slots) {
		count_drop(PERFBPF_DROP_MEM_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&rss, &tgid);
}

static __always_inline __u32 to_u32_pages(__u64 pages)
{
	return pages > 0xffffffffULL ? 0xffffffffU : (__u32)pages;
}

/* The owner of an address space another task is changing, or 0 when the change must not
 * be attributed: the mm is being torn down (its last user left: owner is NULL, or the
 * owner is exiting), or it is being built for a process that does not exist yet (fork
 * copies page tables into the child's mm while the child still carries the parent's
 * tgid; exec fills the new mm before switching to it). mm->owner exists with
 * CONFIG_MEMCG; without it only a process's own changes are seen. */
static __always_inline __u32 foreign_owner_tgid(struct mm_struct *mm, struct task_struct *cur)
{
	struct task_struct *owner;
	__u32 tgid;

	if (!bpf_core_field_exists(mm->owner))
		return 0;
	owner = BPF_CORE_READ(mm, owner);
	if (!owner)
		return 0;
	if (BPF_CORE_READ(owner, flags) & PF_EXITING)
		return 0;
	tgid = BPF_CORE_READ(owner, tgid);
	return tgid == cur->tgid ? 0 : tgid;
}

/* Most events come from a process faulting in its own memory (mm == current->mm); the rest
 * from reclaim, ptrace and exit, attributed through mm->owner. An exiting process's own
 * changes are not recorded either: 6.18 traces sched_process_exit (where the slot is
 * cleared) before exit_mm(), and exit_mm() may still fault on the clear_child_tid page. */
SEC("raw_tp/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct mm_struct *own = cur->mm; /* cur is a BTF pointer: plain loads, no helper calls */
	__u64 own_addr = (__u64)own;
	struct mem_rss_slot *slot;
	__u32 pages;

	/* Compare a copy clang cannot see is own: else, knowing own == mm, it may read the
	 * counters through mm, the untyped argument, which the verifier rejects. */
	asm volatile("" : "+r"(own_addr));
	if (own_addr != (__u64)mm) {
		slot = slot_of(foreign_owner_tgid(mm, cur));
		if (!slot)
			return 0;
		pages = to_u32_pages(mm_rss_pages(mm));
	} else {
		if (cur->flags & PF_EXITING)
			return 0; /* its exit record is written (or being written) */
		slot = slot_of(cur->tgid);
		if (!slot)
			return 0;
		pages = to_u32_pages(mm_rss_pages_btf(own));
	}
	slot->rss_pages = pages;
	if (pages > slot->peak_pages)
		slot->peak_pages = pages;
	return 0;
}

/* A new process starts with the pages fork copied (counted while it still had its parent's
 * tgid, so skipped above); a reused tgid starts from this level, not its predecessor's. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(child, tgid);
	struct mem_rss_slot *slot;
	struct mm_struct *mm;
	__u32 pages;

	if (tgid == BPF_CORE_READ(parent, tgid))
		return 0; /* a new thread */
	mm = BPF_CORE_READ(child, mm);
	if (!mm)
		return 0; /* a kernel thread */
	slot = slot_of(tgid);
	if (!slot)
		return 0;
	pages = to_u32_pages(mm_rss_pages(mm));
	slot->rss_pages = pages;
	slot->peak_pages = pages;
	return 0;
}

/* Runs in the exiting thread. When the last thread of a process exits, its level and its
 * lifetime fault totals are recorded for user space and its slot is cleared. Fault totals
 * are summed as /proc/PID/stat does: threads already released are in signal->{min,maj}_flt;
 * of the live ones only this thread and a zombie group leader remain (another thread that
 * is between this hook and its release is missed; that window is microseconds). */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_sched_process_exit, struct task_struct *p)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct task_struct *leader;
	struct mem_rss_slot *slot;
	struct mm_struct *mm;
	struct mem_exit e = {};
	__u64 pages;

	if (BPF_CORE_READ(cur, signal, live.counter) != 0)
		return 0;
	if (BPF_CORE_READ(cur, flags) & PF_KTHREAD)
		return 0;
	e.tgid = BPF_CORE_READ(cur, tgid);
	slot = slot_of(e.tgid);
	if (slot) {
		e.rss_pages = slot->rss_pages;
		e.peak_pages = slot->peak_pages;
	}
	/* On kernels that trace the exit before exit_mm() (6.18 does), the address space
	 * is still there: read its final level. Otherwise the slot has the level before
	 * teardown began, since teardown changes are not attributed. */
	mm = cur->mm;
	if (mm) {
		pages = mm_rss_pages_btf(mm);
		e.rss_pages = to_u32_pages(pages);
		if (e.rss_pages > e.peak_pages)
			e.peak_pages = e.rss_pages;
	}
	if (slot) {
		slot->rss_pages = 0;
		slot->peak_pages = 0;
	}
	e.minflt = BPF_CORE_READ(cur, signal, min_flt) + BPF_CORE_READ(cur, min_flt);
	e.majflt = BPF_CORE_READ(cur, signal, maj_flt) + BPF_CORE_READ(cur, maj_flt);
	leader = BPF_CORE_READ(cur, group_leader);
	if (leader && (__u64)leader != (__u64)cur) {
		e.minflt += BPF_CORE_READ(leader, min_flt);
		e.majflt += BPF_CORE_READ(leader, maj_flt);
	}
	e.exit_code = BPF_CORE_READ(cur, exit_code);
	e.ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (bpf_map_update_elem(&exits, &e.tgid, &e, BPF_ANY))
		count_drop(PERFBPF_DROP_MEM_MAP_FULL);
	return 0;
}

/* The OOM killer chose a victim (global or memory-cgroup OOM). Also fires when the
 * allocating task is itself already exiting and is only granted memory reserves. */
SEC("raw_tp/mark_victim")
int BPF_PROG(on_mark_victim, struct task_struct *task)
{
	struct perfbpf_event *e = reserve_event(PERFBPF_EV_OOM_KILL);
	struct mm_struct *mm;

	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(task, pid);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		e->arg0 = BPF_CORE_READ(mm, total_vm);
		e->arg1 = mm_rss_pages(mm);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

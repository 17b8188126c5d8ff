/* Scheduler probe family: per-thread on-CPU, run-queue wait (log2 µs histogram), off-CPU
 * and context switches; per-CPU busy time, run-queue wait and sampled queue length.
 *
 * Cost is the design constraint (see MEASURED.md): one program per hook, the clock read
 * once, hash lookups kept off the switch path. Per-thread totals accumulate in task local
 * storage of the *current* task (the only task whose storage a raw_tp may touch), and the
 * one pid-keyed structure on the hot path is an ARRAY of wakeup timestamps indexed by pid
 * (sized from pid_max at load). A thread's wait is measured when it is switched in
 * (it is "next", not current), parked in per-CPU state, and credited to the thread at its
 * next switch-out on that same CPU, when it is current. */
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "perfbpf/sched.h"

#define TASK_RUNNING 0
#define TASK_DEAD 0x80

/* Set by user space before load. */
const volatile __u64 flush_period_ns = 100 * 1000 * 1000ULL;
const volatile __u32 wakeup_slots = 32768; /* entries of wakeup_ts, = pid_max */

struct task_acc {
	struct sched_task_stats s;
	__u64 sleep_start_ns; /* voluntary switch-out time, 0 when runnable */
	__u64 last_flush_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_acc);
} task_acc SEC(".maps");

/* Flushed copies for user space; exited threads stay until user space has read them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sched_task_stats);
} task_stats SEC(".maps");

/* Time a thread became runnable (wakeup or preemption), indexed by pid; 0 = not queued.
 * max_entries is replaced with pid_max by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} wakeup_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sched_cpu_stats);
} cpu_stats SEC(".maps");

static __always_inline struct sched_cpu_stats *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_stats, &zero);
}

static __always_inline void mark_runnable(__u32 pid, __u64 now)
{
	__u64 *ts;

	if (!pid)
		return;
	if (pid >= wakeup_slots) {
		count_drop(PERFBPF_DROP_WAKEUP_PID_RANGE);
		return;
	}
	ts = bpf_map_lookup_elem(&wakeup_ts, &pid);
	if (ts)
		*ts = now;
}

static __always_inline void flush(struct task_struct *t, struct task_acc *acc, __u64 now,
				  __u32 flags)
{
	acc->last_flush_ns = now;
	acc->s.flush_ns = now;
	acc->s.flags = flags;
	if (!acc->s.pid) {
		acc->s.pid = BPF_CORE_READ(t, pid);
		acc->s.tgid = BPF_CORE_READ(t, tgid);
	}
	acc->s.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(acc->s.comm, sizeof(acc->s.comm));
	if (bpf_map_update_elem(&task_stats, &acc->s.pid, &acc->s, BPF_ANY))
		count_drop(PERFBPF_DROP_TASK_MAP_FULL);
}

/* Credits the slice that ends now to the current thread (prev) and parks the wait of the
 * thread that gets the CPU (next). */
SEC("raw_tp/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct sched_cpu_stats *cpu = this_cpu();
	__u64 now = bpf_ktime_get_ns();
	__u32 prev_pid = BPF_CORE_READ(prev, pid);
	__u32 next_pid = BPF_CORE_READ(next, pid);
	bool involuntary = preempt || prev_state == TASK_RUNNING;
	__u64 slice_start, ran_ns, *ts;

	if (!cpu)
		return 0;
	slice_start = cpu->last_switch_ns;
	ran_ns = cpu->accounted_ns && now > cpu->accounted_ns ? now - cpu->accounted_ns : 0;
	cpu->switches++;

	if (prev_pid) {
		struct task_struct *cur = bpf_get_current_task_btf();
		struct task_acc *acc =
			bpf_task_storage_get(&task_acc, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

		cpu->busy_ns += ran_ns;
		if (acc) {
			acc->s.oncpu_ns += ran_ns;
			if (cpu->pending_pid == prev_pid && cpu->pending_wait_ns) {
				acc->s.runq_wait_ns += cpu->pending_wait_ns;
				acc->s.runq_waits++;
				acc->s.runq_hist[hist_slot_us(cpu->pending_wait_ns)]++;
			}
			/* The slice started when this thread was switched in: that ends
			 * an off-CPU period begun at a voluntary switch-out. */
			if (acc->sleep_start_ns && slice_start > acc->sleep_start_ns)
				acc->s.offcpu_ns += slice_start - acc->sleep_start_ns;
			acc->sleep_start_ns = 0;
			if (involuntary)
				acc->s.nivcsw++;
			else {
				acc->s.nvcsw++;
				acc->sleep_start_ns = now;
			}
			if (prev_state & TASK_DEAD)
				flush(cur, acc, now, PERFBPF_TASK_EXITED);
			else if (now - acc->last_flush_ns >= flush_period_ns)
				flush(cur, acc, now, 0);
		} else {
			count_drop(PERFBPF_DROP_TASK_STORAGE);
		}
		if (involuntary)
			mark_runnable(prev_pid, now);
	}

	cpu->pending_pid = next_pid;
	cpu->pending_wait_ns = 0;
	if (next_pid && next_pid < wakeup_slots) {
		ts = bpf_map_lookup_elem(&wakeup_ts, &next_pid);
		if (ts && *ts) {
			__u64 wait = now > *ts ? now - *ts : 0;

			*ts = 0;
			cpu->pending_wait_ns = wait ? wait : 1;
			cpu->runq_wait_ns += wait;
			cpu->runq_waits++;
			cpu->runq_hist[hist_slot_us(wait)]++;
		}
	}
	cpu->last_switch_ns = now;
	cpu->accounted_ns = now;
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(on_sched_wakeup, struct task_struct *p)
{
	mark_runnable(BPF_CORE_READ(p, pid), bpf_ktime_get_ns());
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new, struct task_struct *p)
{
	mark_runnable(BPF_CORE_READ(p, pid), bpf_ktime_get_ns());
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_sched_process_exec, struct task_struct *p, pid_t old_pid)
{
	struct perfbpf_event *e = reserve_event(PERFBPF_EV_EXEC);

	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(p, pid);
	e->tgid = BPF_CORE_READ(p, tgid);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Runs in the exiting thread. The thread's last slice is flushed at its final switch-out
 * (prev_state TASK_DEAD); here only the whole-process exit is announced. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_sched_process_exit, struct task_struct *p)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct perfbpf_event *e;
	__u32 pid = BPF_CORE_READ(cur, pid);
	__u64 *ts;

	if (pid < wakeup_slots) {
		ts = bpf_map_lookup_elem(&wakeup_ts, &pid);
		if (ts)
			*ts = 0;
	}
	/* signal->live reaches zero in the last thread of the group to exit */
	if (BPF_CORE_READ(cur, signal, live.counter) != 0)
		return 0;
	e = reserve_event(PERFBPF_EV_EXIT);
	if (!e)
		return 0;
	e->pid = pid;
	e->tgid = BPF_CORE_READ(cur, tgid);
	e->ppid = BPF_CORE_READ(cur, real_parent, tgid);
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->arg0 = BPF_CORE_READ(cur, exit_code);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* cpu-clock sample on every CPU: samples the run-queue length and flushes the running
 * thread, so a thread that never switches out (a CPU hog alone on its CPU) still shows. */
SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct sched_cpu_stats *cpu = this_cpu();
	__u64 now = bpf_ktime_get_ns();
	struct task_acc *acc;
	__u32 pid = BPF_CORE_READ(cur, pid);

	if (!cpu)
		return 0;
	if (bpf_core_field_exists(cur->se.cfs_rq)) {
		struct cfs_rq *cfs = BPF_CORE_READ(cur, se.cfs_rq);
		struct rq *rq = cfs ? BPF_CORE_READ(cfs, rq) : NULL;

		if (rq) {
			cpu->nr_running_sum += BPF_CORE_READ(rq, nr_running);
			cpu->nr_running_samples++;
		}
	}
	if (!pid)
		return 0;
	acc = bpf_task_storage_get(&task_acc, cur, 0, 0);
	if (!acc || now - acc->last_flush_ns < flush_period_ns)
		return 0;
	/* Credit the running slice so far, then restart the slice from now. */
	if (cpu->accounted_ns && now > cpu->accounted_ns) {
		acc->s.oncpu_ns += now - cpu->accounted_ns;
		cpu->busy_ns += now - cpu->accounted_ns;
		cpu->accounted_ns = now;
	}
	flush(cur, acc, now, 0);
	return 0;
}

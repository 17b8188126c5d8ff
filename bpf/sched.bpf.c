/* Scheduler probe family: per-thread on-CPU, run-queue wait (log2 µs histogram), off-CPU
 * and context switches; per-CPU busy time, run-queue wait and sampled queue length.
 *
 * Cost is the design constraint (see docs/measured.md). Measured here per sched_switch:
 * reading the clock costs ~35 ns, a probe read ~20 ns, task storage ~17 ns, a pid-indexed
 * array ~10 ns. So with CONFIG_SCHED_INFO (Debian, Ubuntu, RHEL, Fedora all set it) the
 * hot path reads no clock and no untrusted pointer: at sched_switch, prev is the current
 * task, whose kernel counters (se.sum_exec_runtime, sched_info.run_delay/pcount,
 * nvcsw/nivcsw) are direct loads through bpf_get_current_task_btf(). The wait that
 * preceded the slice now ending is the growth of run_delay since the thread's previous
 * switch-out (exactly one arrival lies between two switch-outs), which gives the
 * histogram without any wakeup hook. Totals live in task local storage of the current
 * task and are copied to a pid-keyed hash for user space at most once per flush period.
 *
 * Without CONFIG_SCHED_INFO the same program measures for itself: wakeup and preemption
 * times in an ARRAY indexed by pid (sized from pid_max), the wait of the switched-in
 * thread parked in per-CPU state and credited at its next switch-out on that CPU. User
 * space attaches the wakeup hooks only then. */
#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "perfbpf/sched.h"

#define TASK_RUNNING 0
#define TASK_DEAD 0x80
#define SCHED_NORMAL 0
#define SCHED_BATCH 3
#define SCHED_IDLE 5

/* Set by user space before load. */
const volatile __u64 flush_period_ns = 20 * 1000 * 1000ULL;
const volatile __u32 wakeup_slots = 1;	   /* entries of wakeup_ts: pid_max, or 1 if unused */
const volatile __u64 attach_ns = 0;	   /* CLOCK_MONOTONIC just before load */
const volatile bool measure_waits = false; /* use the fallback even with CONFIG_SCHED_INFO */

struct task_acc {
	struct sched_task_stats s;
	/* kernel counters when perfbpf first saw the thread (0 if born after attach) */
	__u64 base_oncpu_ns;
	__u64 base_run_delay_ns;
	__u64 base_pcount;
	__u64 base_nvcsw;
	__u64 base_nivcsw;
	__u64 origin_ns; /* CLOCK_MONOTONIC the totals count from */
	/* kernel counters at this thread's previous switch-out */
	__u64 seen_oncpu_ns;
	__u64 seen_run_delay_ns;
	__u64 seen_pcount;
	/* flush rate limit, in sched_info.last_arrival's clock (or ktime in the fallback) */
	__u64 last_flush_clock;
	__u64 sleep_start_ns; /* fallback: voluntary switch-out time, 0 when runnable */
	__u32 seen;	      /* base_* and seen_* are set */
	__u32 pad;
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

/* Fallback only: time a thread became runnable, indexed by pid; 0 = not queued. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
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

static __always_inline bool kernel_counts_waits(struct task_struct *t)
{
	return bpf_core_field_exists(t->sched_info) && !measure_waits;
}

static __always_inline void flush(struct task_struct *t, struct task_acc *acc, __u64 clock,
				  __u32 flags)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 alive;

	acc->last_flush_clock = clock;
	acc->s.flush_ns = now;
	acc->s.flags = flags;
	if (!acc->s.pid) {
		acc->s.pid = t->pid;
		acc->s.tgid = t->tgid;
		acc->s.start_ns = t->start_time;
	}
	if (kernel_counts_waits(t)) {
		/* Whatever part of the counted time it was neither running nor runnable. */
		alive = now > acc->origin_ns ? now - acc->origin_ns : 0;
		acc->s.offcpu_ns = alive > acc->s.oncpu_ns + acc->s.runq_wait_ns
					   ? alive - acc->s.oncpu_ns - acc->s.runq_wait_ns
					   : 0;
	}
	acc->s.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(acc->s.comm, sizeof(acc->s.comm));
	if (bpf_map_update_elem(&task_stats, &acc->s.pid, &acc->s, BPF_ANY))
		count_drop(PERFBPF_DROP_TASK_MAP_FULL);
}

/* First sight of a thread, at the end of one of its slices: count from its birth if it
 * was born after attach, else from the start of this slice (only the wait before the
 * slice is lost). */
static __always_inline void set_base(struct task_struct *cur, struct task_acc *acc, __u64 oncpu,
				     __u64 delay, __u64 pcount, bool voluntary)
{
	__u64 slice;

	if (cur->start_time >= attach_ns) {
		acc->origin_ns = cur->start_time;
		return;
	}
	/* The fair class records the total at which this slice began; other classes
	 * (rt, the stop class of migration threads) leave it stale, so their first slice is
	 * not counted rather than counted with their whole past. */
	slice = 0;
	if (cur->policy == SCHED_NORMAL || cur->policy == SCHED_BATCH || cur->policy == SCHED_IDLE)
		slice = oncpu - cur->se.prev_sum_exec_runtime;
	if (slice > oncpu)
		slice = 0;
	acc->base_oncpu_ns = oncpu - slice;
	acc->base_run_delay_ns = delay;
	acc->base_pcount = pcount;
	acc->base_nvcsw = cur->nvcsw - voluntary;
	acc->base_nivcsw = cur->nivcsw - !voluntary;
	acc->origin_ns = bpf_ktime_get_ns() - slice;
	acc->seen_run_delay_ns = delay;
	acc->seen_pcount = pcount;
}

/* The slice of the current thread ends: take the kernel's counters. */
static __always_inline void account_kernel_counters(struct task_struct *cur, struct task_acc *acc,
						    struct sched_cpu_stats *cpu, bool voluntary)
{
	__u64 oncpu = cur->se.sum_exec_runtime;
	__u64 delay = cur->sched_info.run_delay;
	__u64 pcount = cur->sched_info.pcount;
	__u64 wait;

	if (!acc->seen) {
		set_base(cur, acc, oncpu, delay, pcount, voluntary);
		acc->seen_oncpu_ns = acc->base_oncpu_ns;
		acc->seen = 1;
	}
	cpu->busy_ns += oncpu - acc->seen_oncpu_ns;
	if (pcount != acc->seen_pcount) {
		wait = delay - acc->seen_run_delay_ns;
		cpu->runq_wait_ns += wait;
		cpu->runq_waits += pcount - acc->seen_pcount;
		/* One arrival between two switch-outs is one wait; more means switch-outs
		 * were missed and the sum cannot be split. */
		if (pcount - acc->seen_pcount == 1) {
			__u32 slot = hist_slot_us(wait);

			acc->s.runq_hist[slot]++;
			cpu->runq_hist[slot]++;
		}
	}
	acc->seen_oncpu_ns = oncpu;
	acc->seen_run_delay_ns = delay;
	acc->seen_pcount = pcount;
	acc->s.oncpu_ns = oncpu - acc->base_oncpu_ns;
	acc->s.runq_wait_ns = delay - acc->base_run_delay_ns;
	acc->s.runq_waits = pcount - acc->base_pcount;
	acc->s.nvcsw = cur->nvcsw - acc->base_nvcsw;
	acc->s.nivcsw = cur->nivcsw - acc->base_nivcsw;
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

/* Fallback: measure the slice, the wait before it and off-CPU time with our own clock. */
static __always_inline void account_measured(struct task_struct *next, struct task_acc *acc,
					     struct sched_cpu_stats *cpu, __u32 prev_pid,
					     bool involuntary, __u64 now)
{
	__u64 slice_start = cpu->last_switch_ns;
	__u64 ran = cpu->accounted_ns && now > cpu->accounted_ns ? now - cpu->accounted_ns : 0;
	__u32 next_pid;
	__u64 *ts;

	if (prev_pid && acc) {
		if (!acc->origin_ns)
			acc->origin_ns = now;
		cpu->busy_ns += ran;
		acc->s.oncpu_ns += ran;
		if (cpu->pending_pid == prev_pid && cpu->pending_wait_ns) {
			acc->s.runq_wait_ns += cpu->pending_wait_ns;
			acc->s.runq_waits++;
			acc->s.runq_hist[hist_slot_us(cpu->pending_wait_ns)]++;
		}
		if (acc->sleep_start_ns && slice_start > acc->sleep_start_ns)
			acc->s.offcpu_ns += slice_start - acc->sleep_start_ns;
		acc->sleep_start_ns = involuntary ? 0 : now;
		if (involuntary)
			acc->s.nivcsw++;
		else
			acc->s.nvcsw++;
	}
	if (prev_pid && involuntary)
		mark_runnable(prev_pid, now);

	next_pid = BPF_CORE_READ(next, pid);
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
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct sched_cpu_stats *cpu = this_cpu();
	/* prev is the current task: its pid is a direct load through the trusted pointer
	 * already taken (no probe read, no second helper call) */
	__u32 prev_pid = cur->pid;
	bool voluntary = !preempt && prev_state != TASK_RUNNING;
	struct task_acc *acc = NULL;
	__u64 clock;

	if (!cpu)
		return 0;
	cpu->switches++;
	if (prev_pid) {
		acc = bpf_task_storage_get(&task_acc, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!acc)
			count_drop(PERFBPF_DROP_TASK_STORAGE);
	}
	if (kernel_counts_waits(cur)) {
		if (!acc)
			return 0;
		account_kernel_counters(cur, acc, cpu, voluntary);
		clock = cur->sched_info.last_arrival;
	} else {
		clock = bpf_ktime_get_ns();
		account_measured(next, acc, cpu, prev_pid, !voluntary, clock);
		if (!acc)
			return 0;
	}
	if (prev_state & TASK_DEAD)
		flush(cur, acc, clock, PERFBPF_TASK_EXITED);
	else if (clock - acc->last_flush_clock >= flush_period_ns)
		flush(cur, acc, clock, 0);
	return 0;
}

/* Attached only without CONFIG_SCHED_INFO. */
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

/* Runs in the exiting thread. The thread's totals are flushed at its final switch-out
 * (prev_state TASK_DEAD); here only the whole-process exit is announced. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_sched_process_exit, struct task_struct *p)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct perfbpf_event *e;
	__u32 pid = cur->pid;
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
	e->tgid = cur->tgid;
	e->ppid = BPF_CORE_READ(cur, real_parent, tgid);
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->arg0 = cur->exit_code;
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
	struct task_acc *acc;
	__u64 now;

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
	if (!cur->pid)
		return 0;
	acc = bpf_task_storage_get(&task_acc, cur, 0, 0);
	if (!acc)
		return 0;
	if (kernel_counts_waits(cur)) {
		/* sum_exec_runtime is brought up to date at every tick, so no slice to add;
		 * the seen_* values stay those of the last switch-out. */
		if (!acc->seen)
			return 0;
		acc->s.oncpu_ns = cur->se.sum_exec_runtime - acc->base_oncpu_ns;
		flush(cur, acc, acc->last_flush_clock, 0);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (now - acc->last_flush_clock < flush_period_ns)
		return 0;
	if (cpu->accounted_ns && now > cpu->accounted_ns) {
		/* Credit the running slice so far. */
		acc->s.oncpu_ns += now - cpu->accounted_ns;
		cpu->busy_ns += now - cpu->accounted_ns;
		cpu->accounted_ns = now;
	}
	flush(cur, acc, now, 0);
	return 0;
}

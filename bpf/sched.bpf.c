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
 * histogram without any wakeup hook. The counters at the last switch-out live in the
 * thread's slot of an mmapable array (one line; sched.h says why not task storage), which
 * user space reads in place; what changes slowly (off-CPU time, switch counts) is
 * refreshed there at most once per flush period, the comm at each rename.
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
/* log2 of the slots, for the sampler; each switch program has its own as a constant */
const volatile __u32 thread_slot_bits = PERFBPF_THREAD_SLOT_BITS_MIN;

/* Per thread, see include/perfbpf/sched.h; both maps are resized from thread_slot_bits. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << PERFBPF_THREAD_SLOT_BITS_MIN);
	__type(key, __u32);
	__type(value, struct sched_thread_slot);
} thread_slots SEC(".maps");

_Static_assert(sizeof(struct sched_thread_slot) % 64 == 0, "slots start on a cache line");
_Static_assert(__builtin_offsetof(struct sched_thread_slot, tag) == 0, "tgid_slot's tag");
_Static_assert(__builtin_offsetof(struct sched_thread_slot, pid) == 64, "line 1: flush");
_Static_assert(__builtin_offsetof(struct sched_thread_slot, start_ns) == 128, "line 2: once");

/* Who claimed a slot (slot -> thread id, see claim_slot): touched at a thread's first
 * switch-out only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << PERFBPF_THREAD_SLOT_BITS_MIN);
	__type(key, __u32);
	__type(value, __u64);
} thread_claims SEC(".maps");

SLOT_USED_MAP(thread_used, 1 << PERFBPF_THREAD_SLOT_BITS_MIN);

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

/* The slot of thread pid in a table of 2^bits slots; with create, its first switch-out
 * claims one. */
static __always_inline struct sched_thread_slot *thread_slot(__u32 pid, bool create, __u32 bits)
{
	__u32 idx;

	return tgid_slot(&thread_slots, &thread_claims, &thread_used, bits,
			 PERFBPF_THREAD_GROUP_BITS, PERFBPF_THREAD_PROBES, pid, create,
			 PERFBPF_DROP_TASK_MAP_FULL, &idx, NULL);
}

/* The run queue of the CPU cur runs on, or NULL where the kernel's structures do not lead
 * there (no CONFIG_FAIR_GROUP_SCHED). */
static __always_inline struct rq *rq_of(struct task_struct *cur)
{
	struct cfs_rq *cfs;

	if (!bpf_core_field_exists(cur->se.cfs_rq) || !bpf_core_field_exists(struct cfs_rq, rq))
		return NULL;
	cfs = cur->se.cfs_rq;
	return cfs ? cfs->rq : NULL;
}

/* The run-queue clock of the CPU cur runs on (rq->clock, what sched_info's times are
 * taken on), or 0 where rq_of() finds no run queue. __schedule() brings it
 * up to date before the switch tracepoint, and the tick before a cpu-clock sample's
 * sum_exec_runtime, so it is "now" for the counters a flush reads. It replaces
 * bpf_ktime_get_ns() in the flush: where a thread's lines are cold (1,000 threads waking
 * every 100 ms) the clock helper cost ≈340 ns a flush; rq is the scheduler's hottest line. */
static __always_inline __u64 rq_clock_of(struct task_struct *cur)
{
	struct rq *rq = rq_of(cur);

	return rq ? rq->clock : 0;
}

/* What changes slowly, taken at most once per flush period and at the final switch-out.
 * The comm is not among it: it is taken at first sight and at each rename (on_task_rename,
 * which an exec fires too), since copying it here cost ≈340 ns a flush where the lines are
 * cold (1,000 threads waking every 100 ms). */
static __always_inline void flush(struct task_struct *t, struct sched_thread_slot *s, __u64 clock,
				  bool dead)
{
	__u64 now;
	__s64 off;

	/* Line 1 before line 0: a reader that finds line 0 as it was at its previous read
	 * skips the rest of the slot (collect/sched_reader.cpp), so what a flush changes
	 * elsewhere is in place before line 0 shows the flush. */
	if (kernel_counts_waits(t)) {
		s->nvcsw = t->nvcsw;
		s->nivcsw = t->nivcsw;
	}
	if (dead)
		s->flags = PERFBPF_TASK_EXITED;
	asm volatile("" ::: "memory");
	if (kernel_counts_waits(t)) {
		/* Whatever part of the counted time it was neither running nor runnable, on the
		 * clock offcpu_origin is on (set_base). */
		now = rq_clock_of(t);
		if (!now)
			now = bpf_ktime_get_ns();
		off = (__s64)(now - s->offcpu_origin - s->oncpu_ns - s->run_delay_ns);
		s->offcpu_ns = off > 0 ? off : 0;
	}
	s->last_flush_clock = clock;
	if (dead) {
		/* after everything else: user space frees a dead slot once it has read it */
		asm volatile("" ::: "memory");
		s->tag |= PERFBPF_THREAD_DEAD;
	}
}

/* A thread's first sight: its identity, and every count from zero. User space zeroes a
 * slot it frees, but a slot the sweep freed while its thread was still writing it may
 * hold stray counts. */
static __always_inline void start_slot(struct task_struct *cur, struct sched_thread_slot *s)
{
	s->pid = cur->pid;
	s->tgid = cur->tgid;
	s->start_ns = cur->start_time;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	s->oncpu_ns = 0;
	s->run_delay_ns = 0;
	s->pcount = 0;
	s->offcpu_ns = 0;
	s->nvcsw = 0;
	s->nivcsw = 0;
	s->flags = 0;
	s->base_oncpu_ns = 0;
	s->base_run_delay_ns = 0;
	s->base_pcount = 0;
	s->base_nvcsw = 0;
	s->base_nivcsw = 0;
	s->pending_hist = 0;
	__builtin_memset(s->runq_hist, 0, sizeof(s->runq_hist));
}

/* First sight of a thread, at the end of one of its slices: count from its birth if it
 * was born after attach, else from the start of this slice (only the wait before the
 * slice is lost). Sets the kernel counters' base, and seen last: user space skips a slot
 * until then. */
static __always_inline void set_base(struct task_struct *cur, struct sched_thread_slot *s,
				     __u64 oncpu, __u64 delay, __u64 pcount, bool voluntary)
{
	__u64 slice = 0, mono = bpf_ktime_get_ns(), rq_now = rq_clock_of(cur);

	start_slot(cur, s);
	if (cur->start_time >= attach_ns) {
		/* born after attach: every counter counts from 0 */
		s->origin_ns = cur->start_time;
	} else {
		/* The fair class records the total at which this slice began; other classes
		 * (rt, the stop class of migration threads) leave it stale, so their first
		 * slice is not counted rather than counted with their whole past. */
		if (cur->policy == SCHED_NORMAL || cur->policy == SCHED_BATCH ||
		    cur->policy == SCHED_IDLE)
			slice = oncpu - cur->se.prev_sum_exec_runtime;
		if (slice > oncpu)
			slice = 0;
		s->base_oncpu_ns = oncpu - slice;
		s->base_run_delay_ns = delay;
		s->base_pcount = pcount;
		s->base_nvcsw = cur->nvcsw - voluntary;
		s->base_nivcsw = cur->nivcsw - !voluntary;
		s->origin_ns = mono - slice;
	}
	/* origin_ns is on CLOCK_MONOTONIC; the flushes compute off-CPU time on the run-queue
	 * clock (rq_clock_of), so the origin is moved onto it by the two clocks' difference
	 * now. Both count in ns from the same TSC on x86; what NTP slews the one and not the
	 * other is parts per million of the elapsed time. */
	s->offcpu_origin = s->origin_ns + (rq_now ? rq_now - mono : 0) - s->base_oncpu_ns -
			   s->base_run_delay_ns;
	s->oncpu_ns = s->base_oncpu_ns;
	s->run_delay_ns = s->base_run_delay_ns;
	s->pcount = s->base_pcount;
	asm volatile("" ::: "memory");
	s->seen = 1;
}

/* One run-queue wait in histogram slot `slot` of the thread's own histogram, batched in
 * line 0 while consecutive waits fall in the same slot (sched.h: pending_hist). Beside
 * 1,000 threads waking every 100 ms the histogram's line was a cache miss at each wait. */
static __always_inline void add_wait(struct sched_thread_slot *s, __u32 slot)
{
	__u64 pending = s->pending_hist;

	if (pending && (pending & 0xff) == slot) {
		s->pending_hist = pending + 0x100;
		return;
	}
	s->pending_hist = 0x100 | slot;
	/* cleared before it is added: a reader may miss the batch for one read, never count
	 * it twice */
	asm volatile("" ::: "memory");
	if (pending)
		s->runq_hist[pending & (PERFBPF_HIST_SLOTS - 1)] += pending >> 8;
}

/* The slice of the current thread ends: take the kernel's counters. */
static __always_inline void account_kernel_counters(struct task_struct *cur,
						    struct sched_thread_slot *s,
						    struct sched_cpu_stats *cpu, bool voluntary)
{
	__u64 oncpu = cur->se.sum_exec_runtime;
	__u64 delay = cur->sched_info.run_delay;
	__u64 pcount = cur->sched_info.pcount;
	__u64 wait;

	if (!s->seen)
		set_base(cur, s, oncpu, delay, pcount, voluntary);
	cpu->busy_ns += oncpu - s->oncpu_ns;
	if (pcount != s->pcount) {
		wait = delay - s->run_delay_ns;
		cpu->runq_wait_ns += wait;
		cpu->runq_waits += pcount - s->pcount;
		/* One arrival between two switch-outs is one wait; more means switch-outs
		 * were missed and the sum cannot be split. */
		if (pcount - s->pcount == 1) {
			__u32 slot = hist_slot_us(wait);

			add_wait(s, slot);
			cpu->runq_hist[slot]++;
		}
	}
	s->oncpu_ns = oncpu;
	s->run_delay_ns = delay;
	s->pcount = pcount;
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

/* Fallback: measure the slice, the wait before it and off-CPU time with our own clock;
 * the slot's counters are then these measured totals (base_* stay 0). */
static __always_inline void account_measured(struct task_struct *cur, struct task_struct *next,
					     struct sched_thread_slot *s,
					     struct sched_cpu_stats *cpu, __u32 prev_pid,
					     bool involuntary, __u64 now)
{
	__u64 slice_start = cpu->last_switch_ns;
	__u64 ran = cpu->accounted_ns && now > cpu->accounted_ns ? now - cpu->accounted_ns : 0;
	__u32 next_pid;
	__u64 *ts;

	if (prev_pid && s) {
		if (!s->seen) {
			start_slot(cur, s);
			s->origin_ns = now;
			asm volatile("" ::: "memory");
			s->seen = 1;
		}
		__u64 wait = cpu->pending_pid == prev_pid ? cpu->pending_wait_ns : 0;
		/* Asleep from the voluntary switch-out until the wakeup: the wait between the
		 * wakeup and this slice is run-queue time, counted once, as wait. */
		__u64 off = s->sleep_start_ns && slice_start > s->sleep_start_ns + wait
				    ? slice_start - s->sleep_start_ns - wait
				    : 0;

		cpu->busy_ns += ran;
		/* the histogram and line 1 before line 0, as in flush() */
		if (wait)
			add_wait(s, hist_slot_us(wait));
		s->sleep_start_ns = involuntary ? 0 : now;
		if (involuntary)
			s->nivcsw++;
		else
			s->nvcsw++;
		asm volatile("" ::: "memory");
		s->oncpu_ns += ran;
		s->offcpu_ns += off;
		if (wait) {
			s->run_delay_ns += wait;
			s->pcount++;
		}
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

static __always_inline int switch_out(bool preempt, struct task_struct *next,
				      unsigned int prev_state, const __u32 bits)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	/* prev is the current task: its pid is a direct load through the trusted pointer
	 * already taken (no probe read, no second helper call) */
	__u32 prev_pid = cur->pid;
	bool voluntary = !preempt && prev_state != TASK_RUNNING;
	struct sched_thread_slot *s = NULL;
	struct sched_cpu_stats *cpu;
	__u64 clock;

	/* The idle task's switch-out: with the kernel's counters there is nothing to take from
	 * it (the per-CPU switch count it once kept was never read). The fallback measures the
	 * slice and the wait of the task switched in here, so it goes on. */
	if (!prev_pid && kernel_counts_waits(cur))
		return 0;
	cpu = this_cpu();
	if (!cpu)
		return 0;
	if (prev_pid)
		s = thread_slot(prev_pid, true, bits);
	if (kernel_counts_waits(cur)) {
		if (!s)
			return 0;
		account_kernel_counters(cur, s, cpu, voluntary);
		clock = cur->sched_info.last_arrival;
	} else {
		clock = bpf_ktime_get_ns();
		account_measured(cur, next, s, cpu, prev_pid, !voluntary, clock);
		if (!s)
			return 0;
	}
	if (prev_state & TASK_DEAD)
		flush(cur, s, clock, true);
	else if (clock - s->last_flush_clock >= flush_period_ns)
		flush(cur, s, clock, false);
	return 0;
}

/* One switch program per size of the thread table, the size a constant in each: with the
 * size read at run time (from .rodata, or from the per-CPU entry the switch writes anyway)
 * the pinned pipe's switch cost 18 ns more a run (150 against 132 ns, floor 46; docs/
 * measured.md), for no reason the program's instructions show. User space loads the one
 * that matches the table it sized and leaves the others out. */
#define SCHED_SWITCH_PROGRAM(name, bits)                                                           \
	SEC("raw_tp/sched_switch")                                                                 \
	int BPF_PROG(name, bool preempt, struct task_struct *prev, struct task_struct *next,       \
		     unsigned int prev_state)                                                      \
	{                                                                                          \
		return switch_out(preempt, next, prev_state, bits);                                \
	}

_Static_assert(PERFBPF_THREAD_SLOT_BITS_MIN == 14 && PERFBPF_THREAD_SLOT_BITS_MAX == 17,
	       "one switch program per table size");
SCHED_SWITCH_PROGRAM(on_sched_switch, 14)
SCHED_SWITCH_PROGRAM(on_sched_switch_15, 15)
SCHED_SWITCH_PROGRAM(on_sched_switch_16, 16)
SCHED_SWITCH_PROGRAM(on_sched_switch_17, 17)

/* A thread's comm changes here only (prctl, a write to /proc/PID/task/TID/comm, and exec,
 * which renames through the same call), and the tracepoint fires before the copy, with the
 * new name. The slot's line 0 changes too, so the next read does not skip the slot. */
SEC("raw_tp/task_rename")
int BPF_PROG(on_task_rename, struct task_struct *task, const char *comm)
{
	struct sched_thread_slot *s =
		thread_slot(BPF_CORE_READ(task, pid), false, thread_slot_bits);
	char name[PERFBPF_COMM_LEN] = {};

	if (!s)
		return 0;
	bpf_probe_read_kernel_str(name, sizeof(name), comm);
	__builtin_memcpy(s->comm, name, sizeof(name));
	asm volatile("" ::: "memory");
	s->last_flush_clock = 0; /* also makes the thread's next switch-out flush */
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
	struct sched_thread_slot *s;
	__u64 now, oncpu;
	struct rq *rq;

	if (!cpu)
		return 0;
	rq = rq_of(cur);
	if (rq) {
		cpu->nr_running_sum += rq->nr_running;
		cpu->nr_running_samples++;
	}
	if (!cur->pid)
		return 0;
	s = thread_slot(cur->pid, false, thread_slot_bits);
	if (!s || !s->seen)
		return 0;
	if (kernel_counts_waits(cur)) {
		/* sum_exec_runtime is brought up to date at every tick. The thread has run on
		 * this CPU since its last switch-out, so the time is this CPU's busy time, and
		 * the next switch-out counts from here. */
		oncpu = cur->se.sum_exec_runtime;
		cpu->busy_ns += oncpu - s->oncpu_ns;
		s->oncpu_ns = oncpu;
		flush(cur, s, s->last_flush_clock, false);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (now - s->last_flush_clock < flush_period_ns)
		return 0;
	if (cpu->accounted_ns && now > cpu->accounted_ns) {
		/* Credit the running slice so far. */
		s->oncpu_ns += now - cpu->accounted_ns;
		cpu->busy_ns += now - cpu->accounted_ns;
		cpu->accounted_ns = now;
	}
	flush(cur, s, now, false);
	return 0;
}

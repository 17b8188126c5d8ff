/* Leak tracer, allocator side (`perfbpf trace --leaks`, modes exact and sampled). Loaded
 * by `trace` only, not a `top` family.
 *
 * Two producers feed the same maps:
 *  - with `-- CMD`, the uprobe on the interposition library's hook receives a batch of
 *    events (include/perfbpf/leaks.h) and applies it: one trap per LEAKS_BATCH calls;
 *  - with `-p PID`, uprobes in the target's allocator (libc or --allocator-lib) see each
 *    call: entry probes park the argument per thread, return probes record the pointer.
 *
 * Outstanding allocations live in the hash "live" (address -> size, stack, time); per
 * stack totals in the per-CPU array "stack_stats"; frames in the array "stacks". The
 * shim's batches of different threads arrive in any order, so a free may come before
 * the allocation it frees, and an allocation before the free of an earlier block at the
 * same address: the per-address bookkeeping below (owed_frees, early_free) settles both.
 * A free seen before any allocation at its address is either early (its allocation sits
 * in another thread's batch) or the free of a block allocated before the trace (a running
 * process): it is taken as early only for an allocation from another thread whose batch
 * began before that free was handed over; anything else happened after the free. */
#include "common.bpf.h"
#include "perfbpf/leaks.h"

/* x86-64 user registers as a uprobe sees them (the layout of the UAPI struct pt_regs).
 * Reading them through this plain struct, not vmlinux.h's CO-RE-relocated pt_regs, leaves
 * the object without relocations, so libbpf need not parse the kernel's BTF at start-up
 * (≈0.1 s: it counts against the target's run time in sampled mode). */
struct uregs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip,
		cs, flags, sp, ss;
};
#define ARG1(ctx) (((struct uregs *)(ctx))->di)
#define ARG2(ctx) (((struct uregs *)(ctx))->si)
#define ARG3(ctx) (((struct uregs *)(ctx))->dx)
#define ARG4(ctx) (((struct uregs *)(ctx))->cx)
#define RET(ctx) (((struct uregs *)(ctx))->ax)
#define SP(ctx) (((struct uregs *)(ctx))->sp)

/* Set by user space before load. */
const volatile __u32 target_tgid = 0;
const volatile __u32 max_stacks = 16384;   /* entries of stack_stats/stacks */
const volatile bool use_live_more = false; /* the budget is larger than "live" */

/* Read by user space through the mmaped .bss. */
__u32 stack_base = 0; /* index of shim stack id 0 in the current process image */
__u32 stack_top = 0;  /* highest index in use */
__u32 images = 0;     /* INIT events seen (exec starts a new image) */
__u64 sample_mean_bytes = 0;
__u64 last_early_free_ns = 0;
__u32 live_spilled = 0; /* "live" was full once: entries may be in live_more */

/* An early free waits this long for its allocation; older ones are stale (a free of
 * something allocated before tracing) and must not cancel a later allocation. */
#define EARLY_FREE_WINDOW_NS (2ULL * 1000 * 1000 * 1000)

/* Outstanding allocations, in two tiers. "live" is preallocated: its entries come from a
 * free list, so an insert or delete costs a bucket walk. Entries of a map that is not
 * preallocated come from the kernel's BPF allocator, whose refills and frees (a kmalloc
 * and a memcg charge per entry, in irq_work) doubled the kernel side of a Python run that
 * keeps a million blocks. Preallocating holds the memory from the start (≈104 B an entry:
 * 218 MB for the default's 2M), so the whole budget is preallocated only when the machine
 * has the memory (the loader decides, leaks/session.cpp); the rest of the budget is
 * "live_more", allocated as needed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18); /* resized by the loader */
	__type(key, __u64);
	__type(value, struct leaks_alloc);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20); /* resized by the loader */
	__type(key, __u64);
	__type(value, struct leaks_alloc);
} live_more SEC(".maps");

struct early {
	__u64 ts_ns; /* when the early free was handed over */
	__u32 tid;   /* by which thread */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct early);
} early_free SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384); /* = max_stacks */
	__type(key, __u32);
	__type(value, struct leaks_stack_stats);
} stack_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384); /* = max_stacks */
	__type(key, __u32);
	__type(value, struct leaks_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LEAKS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} leak_counters SEC(".maps");

struct batch_scratch {
	struct leaks_event ev[LEAKS_BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch_scratch);
} scratch SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&leak_counters, &which);

	if (n)
		(*n)++;
}

static __always_inline struct leaks_stack_stats *stats_of(__u32 idx)
{
	return bpf_map_lookup_elem(&stack_stats, &idx);
}

static __always_inline void add_alloc(__u32 idx, __u64 size, __u64 weight)
{
	struct leaks_stack_stats *s = stats_of(idx);

	if (!s)
		return;
	s->allocs++;
	s->alloc_bytes += size;
	s->est_alloc_q16 += weight;
	s->est_alloc_bytes += (size * weight) >> 16;
}

/* An allocation "live" had no room for: its free will not be recognised, so it must not
 * count as outstanding either. */
static __always_inline void add_untracked(__u32 idx, __u64 size, __u64 weight)
{
	struct leaks_stack_stats *s = stats_of(idx);

	if (!s)
		return;
	s->untracked++;
	s->est_untracked_q16 += weight;
	s->est_untracked_bytes += (size * weight) >> 16;
}

static __always_inline void add_free(__u32 idx, __u64 size, __u64 weight)
{
	struct leaks_stack_stats *s = stats_of(idx);

	if (!s)
		return;
	s->frees++;
	s->free_bytes += size;
	s->est_free_q16 += weight;
	s->est_free_bytes += (size * weight) >> 16;
}

/* Records an allocation at `ptr` made from stack `idx`, by a batch that began at
 * `batch_start` (`now` for the synchronous -p probes, whose events are in order). */
static __always_inline void on_alloc(__u64 ptr, __u64 size, __u64 weight, __u32 idx, __u16 flags,
				     __u64 now, __u64 batch_start)
{
	struct leaks_alloc a = {
		.size = size, .ts_ns = now, .weight_q16 = weight, .stack = idx, .flags = flags};
	struct leaks_alloc *old;
	struct early *early;
	long err;

	add_alloc(idx, size, weight);
	if (last_early_free_ns && now - last_early_free_ns < EARLY_FREE_WINDOW_NS) {
		early = bpf_map_lookup_elem(&early_free, &ptr);
		if (early) {
			bool overtaken = now - early->ts_ns < EARLY_FREE_WINDOW_NS &&
					 early->tid != (__u32)bpf_get_current_pid_tgid() &&
					 batch_start < early->ts_ns;

			bpf_map_delete_elem(&early_free, &ptr);
			if (overtaken) {
				/* its free was handed over first: allocated and freed */
				add_free(idx, size, weight);
				return;
			}
			/* else that free was of an older block (allocated before the trace) */
		}
	}
	/* An entry of the address in either tier is a block whose free is in flight. */
	old = live_spilled ? bpf_map_lookup_elem(&live_more, &ptr) : NULL;
	if (!old) {
		err = bpf_map_update_elem(&live, &ptr, &a, BPF_NOEXIST);
		if (!err)
			return;
		old = bpf_map_lookup_elem(&live, &ptr);
	}
	if (!old && use_live_more) {
		live_spilled = 1;
		err = bpf_map_update_elem(&live_more, &ptr, &a, BPF_NOEXIST);
		if (!err)
			return;
		old = bpf_map_lookup_elem(&live_more, &ptr);
	}
	if (!old) {
		add_untracked(idx, size, weight);
		count(LEAKS_CNT_LIVE_FULL);
		count_drop(PERFBPF_DROP_LEAKS_LIVE_FULL);
		return;
	}
	/* The block that was here must have been freed; that free is still in flight. */
	count(LEAKS_CNT_REPLACED);
	add_free(old->stack, old->size, old->weight_q16);
	a.owed_frees = old->owed_frees + 1;
	*old = a;
}

static __always_inline void on_free(__u64 ptr, __u64 now)
{
	struct leaks_alloc *a = bpf_map_lookup_elem(&live, &ptr);
	bool in_more = false;

	if (!a && live_spilled) {
		a = bpf_map_lookup_elem(&live_more, &ptr);
		in_more = true;
	}
	if (!a) {
		struct early e = {.ts_ns = now, .tid = (__u32)bpf_get_current_pid_tgid()};

		count(LEAKS_CNT_UNKNOWN_FREE);
		bpf_map_update_elem(&early_free, &ptr, &e, BPF_ANY);
		last_early_free_ns = now;
		return;
	}
	if (a->owed_frees) {
		a->owed_frees--; /* the late free of an earlier block at this address */
		return;
	}
	add_free(a->stack, a->size, a->weight_q16);
	if (in_more)
		bpf_map_delete_elem(&live_more, &ptr);
	else
		bpf_map_delete_elem(&live, &ptr);
}

/* ---- the interposition library's batches ---- */

struct batch_ctx {
	struct batch_scratch *b;
	__u32 count;
	__u64 now;
	__u64 start; /* when the batch's first event was recorded */
};

static __always_inline __u32 shim_index(__u32 stack)
{
	__u32 idx;

	if (!stack)
		return 0;
	idx = stack_base + stack;
	return idx < max_stacks ? idx : 0;
}

/* The index of an allocation's stack; 0 (no stack) counted when the table had no room. */
static __always_inline __u32 alloc_index(struct leaks_event *e)
{
	__u32 idx = shim_index(e->stack);

	if (e->flags & LEAKS_FLAG_STACK_FULL) {
		count(LEAKS_CNT_STACK_FULL);
		count_drop(PERFBPF_DROP_LEAKS_STACKS_FULL);
	} else if (e->stack && !idx) {
		/* earlier process images (exec) used up the kernel's table */
		count(LEAKS_CNT_STACK_RANGE);
		count_drop(PERFBPF_DROP_LEAKS_STACKS_FULL);
	}
	return idx;
}

static __always_inline void on_new_stack(struct leaks_event *e)
{
	__u32 idx = shim_index(e->stack);
	__u32 depth = e->size;
	struct leaks_stack *s;

	if (!idx)
		return;
	s = bpf_map_lookup_elem(&stacks, &idx);
	if (!s)
		return;
	if (depth > LEAKS_MAX_DEPTH)
		depth = LEAKS_MAX_DEPTH;
	s->depth = depth;
	s->flags = e->flags & LEAKS_FLAG_UNWIND_END ? LEAKS_STACK_WHOLE : 0;
	s->tgid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_probe_read_user(s->ips, sizeof(s->ips), (void *)e->ptr)) {
		count(LEAKS_CNT_READ_FAULT);
		s->depth = 0;
	}
	if (idx > stack_top)
		stack_top = idx;
}

static int handle_event(__u32 i, struct batch_ctx *c)
{
	struct leaks_event *e;

	if (i >= c->count || i >= LEAKS_BATCH)
		return 1;
	/* re-bound the copy clang indexes with (LEAKS_BATCH is a power of two) */
	asm volatile("%[i] &= %[m]" : [i] "+r"(i) : [m] "i"(LEAKS_BATCH - 1));
	e = &c->b->ev[i];
	switch (e->kind) {
	case LEAKS_EV_ALLOC:
		on_alloc(e->ptr, e->size, e->weight_q16, alloc_index(e), e->flags, c->now, c->start);
		break;
	case LEAKS_EV_FREE:
		on_free(e->ptr, c->now);
		break;
	case LEAKS_EV_CHURN: {
		__u32 idx = alloc_index(e);

		add_alloc(idx, e->size, e->weight_q16);
		add_free(idx, e->size, e->weight_q16);
		break;
	}
	case LEAKS_EV_NEW_STACK:
		on_new_stack(e);
		break;
	case LEAKS_EV_INIT:
		/* A new process image (the first, or after exec): its stack ids start over. */
		stack_base = stack_top;
		images++;
		sample_mean_bytes = e->weight_q16;
		break;
	}
	return 0;
}

SEC("uprobe")
int on_shim_batch(void *ctx)
{
	const struct leaks_event *events = (const void *)ARG1(ctx);
	unsigned int n = ARG2(ctx);
	struct batch_ctx c = {};
	__u32 zero = 0;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	c.b = bpf_map_lookup_elem(&scratch, &zero);
	if (!c.b)
		return 0;
	if (n > LEAKS_BATCH)
		n = LEAKS_BATCH;
	/* The shim always passes its whole per-thread array: read it at its fixed size. */
	if (bpf_probe_read_user(c.b->ev, sizeof(c.b->ev), events)) {
		count(LEAKS_CNT_READ_FAULT);
		return 0;
	}
	c.count = n;
	c.now = bpf_ktime_get_ns();
	c.start = ARG3(ctx);
	count(LEAKS_CNT_BATCHES);
	{
		__u32 which = LEAKS_CNT_EVENTS;
		__u64 *events_seen = bpf_map_lookup_elem(&leak_counters, &which);

		if (events_seen)
			*events_seen += n;
	}
	bpf_loop(n, handle_event, &c, 0);
	return 0;
}

/* ---- `-p PID`: uprobes in the target's allocator ----
 * Entry probes capture the stack and park the arguments per thread; return probes
 * record the returned pointer. free has no return probe. The loader places each entry
 * probe on an instruction the kernel emulates (push, nop, jmp) rather than single-steps,
 * which is ≈20x cheaper (docs/measured.md): glibc's free starts with `test`, so its probe
 * sits on the `push` after the NULL check. */

enum alloc_fn {
	FN_MALLOC = 1,
	FN_CALLOC,
	FN_REALLOC,
	FN_MEMALIGN, /* aligned_alloc, memalign: (align, size) */
	FN_POSIX_MEMALIGN,
	FN_VALLOC,
	FN_MMAP,
};

struct pending_call {
	__u64 size;
	__u64 arg; /* realloc: old pointer; posix_memalign: where the pointer goes */
	__u32 stack;
	__u32 fn;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending_call);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* = max_stacks */
	__type(key, __u64);
	__type(value, __u32);
} stack_by_hash SEC(".maps");

struct stack_buf {
	__u64 ips[LEAKS_MAX_DEPTH + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_buf);
} stack_scratch SEC(".maps");

__u32 next_stack = 0; /* -p mode: indices handed out so far */

/* Claims of stack indices (index -> stack hash): an insert that fails means another CPU
 * took that index first. Gives atomic allocation without fetch-and-add return values,
 * which this build's BPF target (clang 14, default -mcpu) cannot emit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* = max_stacks */
	__type(key, __u32);
	__type(value, __u64);
} stack_claims SEC(".maps");

/* The user stack of the current call, innermost return address first, as an index into
 * "stacks". At a function's entry the frame-pointer walk starts from the caller's frame
 * pointer and so misses the direct caller, whose return address is at the top of the
 * stack: it is put back in. */
static __always_inline __u32 capture_stack(void *ctx)
{
	struct stack_buf *buf;
	struct leaks_stack *s;
	__u32 zero = 0, idx, *found;
	__u64 ret = 0, h = 0x9e3779b97f4a7c15ULL;
	long bytes;
	int n, i, skip;

	buf = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!buf)
		return 0;
	bytes = bpf_get_stack(ctx, buf->ips, sizeof(buf->ips), BPF_F_USER_STACK);
	if (bytes <= 0)
		return 0;
	n = bytes / 8;
	bpf_probe_read_user(&ret, sizeof(ret), (void *)SP(ctx));
	/* ips[0] is the probed function itself: replace it with the return address unless
	 * the walk already found that one next. */
	skip = 1;
	if (n > 1 && buf->ips[1] == ret)
		skip = 1;
	else {
		buf->ips[0] = ret;
		skip = 0;
	}
	for (i = 0; i < LEAKS_MAX_DEPTH + 1; i++) {
		if (i >= n)
			break;
		h ^= buf->ips[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= skip;
	found = bpf_map_lookup_elem(&stack_by_hash, &h);
	if (found)
		return *found;
	idx = 0;
	for (i = 1; i <= 4; i++) {
		__u32 want = next_stack + i;

		if (want >= max_stacks)
			break;
		if (!bpf_map_update_elem(&stack_claims, &want, &h, BPF_NOEXIST)) {
			idx = want;
			next_stack = want;
			break;
		}
	}
	if (!idx) {
		count(LEAKS_CNT_STACK_FULL);
		count_drop(PERFBPF_DROP_LEAKS_STACKS_FULL);
		return 0;
	}
	s = bpf_map_lookup_elem(&stacks, &idx);
	if (!s)
		return 0;
	n -= skip;
	if (n > LEAKS_MAX_DEPTH)
		n = LEAKS_MAX_DEPTH;
	if (n < 0)
		n = 0;
	s->depth = n;
	s->flags = 0;
	s->tgid = bpf_get_current_pid_tgid() >> 32;
	for (i = 0; i < LEAKS_MAX_DEPTH; i++) {
		if (i >= n)
			break;
		s->ips[i] = buf->ips[(i + skip) & LEAKS_MAX_DEPTH];
	}
	if (idx > stack_top)
		stack_top = idx;
	if (bpf_map_update_elem(&stack_by_hash, &h, &idx, BPF_NOEXIST)) {
		found = bpf_map_lookup_elem(&stack_by_hash, &h);
		if (found)
			return *found; /* another CPU stored the same stack first */
	}
	return idx;
}

static __always_inline int park(void *ctx, __u32 fn, __u64 size, __u64 arg)
{
	struct pending_call *p;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	p = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p)
		return 0;
	p->fn = fn;
	p->size = size;
	p->arg = arg;
	p->stack = capture_stack(ctx);
	return 0;
}

static __always_inline int complete(void *ctx, __u32 fn)
{
	struct pending_call *p;
	__u64 ptr = RET(ctx), now;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	p = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
	if (!p || p->fn != fn)
		return 0;
	p->fn = 0;
	now = bpf_ktime_get_ns();
	if (fn == FN_POSIX_MEMALIGN) {
		if (ptr != 0 || bpf_probe_read_user(&ptr, sizeof(ptr), (void *)p->arg))
			return 0; /* failed: nothing allocated */
	}
	if (fn == FN_MMAP && (long)ptr == -1)
		return 0;
	if (fn == FN_REALLOC && p->arg && (ptr || !p->size))
		on_free(p->arg, now);
	if (ptr)
		on_alloc(ptr, p->size, LEAKS_WEIGHT_ONE, p->stack,
			 fn == FN_MMAP ? LEAKS_FLAG_MMAP : 0, now, now);
	return 0;
}

SEC("uprobe")
int malloc_entry(void *ctx)
{
	__u64 size = ARG1(ctx);
	return park(ctx, FN_MALLOC, size, 0);
}

SEC("uretprobe")
int malloc_return(void *ctx)
{
	return complete(ctx, FN_MALLOC);
}

SEC("uprobe")
int calloc_entry(void *ctx)
{
	__u64 n = ARG1(ctx);
	__u64 size = ARG2(ctx);
	return park(ctx, FN_CALLOC, n * size, 0);
}

SEC("uretprobe")
int calloc_return(void *ctx)
{
	return complete(ctx, FN_CALLOC);
}

SEC("uprobe")
int realloc_entry(void *ctx)
{
	__u64 old = ARG1(ctx);
	__u64 size = ARG2(ctx);
	return park(ctx, FN_REALLOC, size, old);
}

SEC("uretprobe")
int realloc_return(void *ctx)
{
	return complete(ctx, FN_REALLOC);
}

SEC("uprobe")
int memalign_entry(void *ctx)
{
	__u64 size = ARG2(ctx);
	return park(ctx, FN_MEMALIGN, size, 0);
}

SEC("uretprobe")
int memalign_return(void *ctx)
{
	return complete(ctx, FN_MEMALIGN);
}

SEC("uprobe")
int posix_memalign_entry(void *ctx)
{
	__u64 memptr = ARG1(ctx);
	__u64 size = ARG3(ctx);
	return park(ctx, FN_POSIX_MEMALIGN, size, memptr);
}

SEC("uretprobe")
int posix_memalign_return(void *ctx)
{
	return complete(ctx, FN_POSIX_MEMALIGN);
}

SEC("uprobe")
int valloc_entry(void *ctx)
{
	__u64 size = ARG1(ctx);
	return park(ctx, FN_VALLOC, size, 0);
}

SEC("uretprobe")
int valloc_return(void *ctx)
{
	return complete(ctx, FN_VALLOC);
}

SEC("uprobe")
int mmap_entry(void *ctx)
{
	__u64 len = ARG2(ctx);
	__u64 flags = ARG4(ctx);
	if (!(flags & 0x20)) /* MAP_ANONYMOUS */
		return 0;
	return park(ctx, FN_MMAP, len, 0);
}

SEC("uretprobe")
int mmap_return(void *ctx)
{
	return complete(ctx, FN_MMAP);
}

/* free and munmap: the pointer is the first argument (the loader only places the probe
 * where %rdi still holds it). */
SEC("uprobe")
int free_entry(void *ctx)
{
	__u64 ptr = ARG1(ctx);
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid || !ptr)
		return 0;
	on_free(ptr, bpf_ktime_get_ns());
	return 0;
}

/* Leak tracer, kernel mode (`perfbpf trace --leaks --kernel`): kmem:kmalloc/kfree,
 * kmem_cache_alloc/free and mm_page_alloc/free with kernel stacks. Allocations are kept
 * by address until freed, from any context (an object allocated by the traced process is
 * often freed by another task or an RCU callback). With a target, only its allocations
 * are tracked; without one, all. The prototypes are the same on 6.1 and 6.18.
 * With a target, an allocation made in its process context (a system call or a page fault,
 * not an interrupt that happened to land on it) also gets the user stack that led to it:
 * the registers saved at the kernel entry (bpf_task_pt_regs) and, once per distinct user
 * context (struct kleaks_ukey), a copy of the stack for user space to unwind with DWARF. */
#include "common.bpf.h"
#include "perfbpf/leaks_kernel.h"
#include "user_stack.bpf.h"

const volatile __u32 target_tgid = 0; /* 0: system-wide */

#define PAGE_BYTES 4096ULL

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KLEAKS_MAX_DEPTH * sizeof(__u64));
} kstacks SEC(".maps");

/* Preallocated: an update must not allocate, or the tracer would trace (and recurse into)
 * its own allocations. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, __u64);
	__type(value, struct kleaks_alloc);
} klive SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct kleaks_key);
	__type(value, struct kleaks_stats);
} kstats SEC(".maps");

/* Preallocated like klive: no allocation on the traced path. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KLEAKS_MAX_USER_CONTEXTS);
	__type(key, struct kleaks_ukey);
	__type(value, __u32);
} kustack_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} kustacks SEC(".maps");

/* User contexts numbered per CPU, so no CPU waits for another: id = cpu << 20 | n. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ustack_seq SEC(".maps");

struct ustack_buf {
	struct kleaks_ustack hdr;
	__u8 stack[GROWTH_STACK_BYTES];
};

/* Built here, then copied into the ring buffer at the size actually read. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ustack_buf);
} ustack_scratch SEC(".maps");

__u64 klive_full = 0;
__u64 kstack_errors = 0;
struct kleaks_user_totals utotals = {};

#define KLEAKS_PF_KTHREAD 0x00200000
#define KLEAKS_PF_IO_WORKER 0x00000010

/* Whether this program runs on the task's own kernel stack, below its saved user registers:
 * process context. Hard and soft interrupts run on per-CPU stacks (x86-64 and arm64
 * switch to them, softirqs included), NMIs on their own, so an allocation made there while
 * the target was current is not the target's. (The preempt count would tell as well, but
 * x86 keeps it in a per-CPU variable a BPF program can only name through kallsyms, which
 * lacks data symbols without CONFIG_KALLSYMS_ALL.) Comparing a stack address with others
 * needs the privileges perfbpf runs with (CAP_PERFMON). */
static __always_inline bool on_task_stack(struct task_struct *task, struct pt_regs *regs)
{
	__u64 base = (__u64)BPF_CORE_READ(task, stack);
	volatile __u64 here = 0;

	here = (__u64)&here;
	return here > base && here < (__u64)regs;
}

/* FNV-1a over the words of the stack's first KLEAKS_KEY_BYTES (fewer at the main thread's
 * stack top) that lie in the program's code, read into buf. */
static __always_inline __u64 code_words_hash(struct ustack_buf *buf, __u64 sp)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 lo = BPF_CORE_READ(task, mm, start_code), hi = BPF_CORE_READ(task, mm, end_code);
	__u64 top = BPF_CORE_READ(task, mm, start_stack), n = KLEAKS_KEY_BYTES;
	__u64 h = 0xcbf29ce484222325ULL, *words = (__u64 *)buf->stack;
	__u32 i;

	if (sp < top && top - sp < n)
		n = top - sp;
	if (n > KLEAKS_KEY_BYTES) /* the verifier's bound on a variable-size read */
		n = KLEAKS_KEY_BYTES;
	if (!n || bpf_probe_read_user(buf->stack, n, (void *)sp)) {
		n = KLEAKS_KEY_BYTES / 8;
		if (bpf_probe_read_user(buf->stack, n, (void *)sp))
			return 0;
	}
	for (i = 0; i < KLEAKS_KEY_BYTES / 8; i++) {
		if ((__u64)(i + 1) * 8 > n)
			break;
		if (words[i] >= lo && words[i] < hi)
			h = (h ^ words[i]) * 0x100000001b3ULL;
	}
	return h;
}

/* The id of the current user context, sending its stack the first time; 0 when there is
 * none (an interrupt, a kernel or io_uring worker thread) or it could not be sent. */
static __always_inline __u32 user_context(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct kleaks_ukey key = {};
	struct ustack_buf *buf;
	struct pt_regs *regs;
	__u32 *known, *seq, id, zero = 0, size;
	__u64 send_t0;
	long depth;

	if (task->flags & (KLEAKS_PF_KTHREAD | KLEAKS_PF_IO_WORKER))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs || (BPF_CORE_READ(regs, cs) & 3) != 3)
		return 0;
	if (!on_task_stack(task, regs)) {
		__sync_fetch_and_add(&utotals.in_interrupt, 1);
		return 0;
	}
	key.ip = BPF_CORE_READ(regs, ip);
	key.sp = BPF_CORE_READ(regs, sp);
	key.bp = BPF_CORE_READ(regs, bp);
	if (!key.ip)
		return 0;
	if (key.bp < key.sp || key.bp - key.sp > (8 << 20))
		key.bp = 0;
	buf = bpf_map_lookup_elem(&ustack_scratch, &zero);
	seq = bpf_map_lookup_elem(&ustack_seq, &zero);
	if (!buf || !seq)
		return 0;
	key.code_hash = code_words_hash(buf, key.sp);
	known = bpf_map_lookup_elem(&kustack_ids, &key);
	if (known)
		return *known;

	send_t0 = bpf_ktime_get_ns();
	*seq = (*seq + 1) & 0xfffff;
	if (!*seq) /* 0 is "none" */
		*seq = 1;
	id = bpf_get_smp_processor_id() << 20 | *seq;
	if (bpf_map_update_elem(&kustack_ids, &key, &id, BPF_NOEXIST)) {
		/* Another CPU sent the same context first, or the table is full. */
		known = bpf_map_lookup_elem(&kustack_ids, &key);
		if (known)
			return *known;
		__sync_fetch_and_add(&utotals.ids_full, 1);
		return 0;
	}
	buf->hdr.id = id;
	buf->hdr.tid = (__u32)bpf_get_current_pid_tgid();
	buf->hdr.ip = key.ip;
	buf->hdr.sp = key.sp;
	buf->hdr.bp = BPF_CORE_READ(regs, bp);
	buf->hdr.top_word = 0;
	bpf_probe_read_user(&buf->hdr.top_word, sizeof(buf->hdr.top_word), (void *)key.sp);
	depth = bpf_get_stack(ctx, buf->hdr.fp_ips, sizeof(buf->hdr.fp_ips), BPF_F_USER_STACK);
	buf->hdr.fp_depth = depth > 0 ? depth / sizeof(__u64) : 0;
	buf->hdr.stack_bytes = copy_user_stack(buf->stack, key.sp, &utotals.short_stacks);
	size = sizeof(buf->hdr) + buf->hdr.stack_bytes;
	if (size > sizeof(*buf))
		size = sizeof(*buf);
	if (bpf_ringbuf_output(&kustacks, buf, size, 0)) {
		/* Unsent: the next allocation from this context tries again. */
		bpf_map_delete_elem(&kustack_ids, &key);
		__sync_fetch_and_add(&utotals.lost, 1);
		id = 0;
	} else {
		__sync_fetch_and_add(&utotals.sent, 1);
	}
	__sync_fetch_and_add(&utotals.copy_ns, bpf_ktime_get_ns() - send_t0);
	return id;
}

/* user_context, timed: what user stacks add to an allocation of the target. */
static __always_inline __u32 user_context_timed(void *ctx)
{
	__u64 t0 = bpf_ktime_get_ns();
	__u32 id = user_context(ctx);

	__sync_fetch_and_add(&utotals.lookups, 1);
	__sync_fetch_and_add(&utotals.lookup_ns, bpf_ktime_get_ns() - t0);
	return id;
}

static __always_inline void on_alloc(void *ctx, __u64 ptr, __u64 size, __u32 kind)
{
	struct kleaks_alloc a = {.size = size, .kind = kind};
	struct kleaks_stats zero = {.kind = kind}, *s;

	if (!ptr)
		return;
	if (target_tgid && (bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return;
	a.key.stack_id = bpf_get_stackid(ctx, &kstacks, 0);
	if (a.key.stack_id < 0) {
		__sync_fetch_and_add(&kstack_errors, 1);
		return;
	}
	if (target_tgid)
		a.key.ustack_id = user_context_timed(ctx);
	a.ts_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&klive, &ptr, &a, BPF_ANY)) {
		__sync_fetch_and_add(&klive_full, 1);
		count_drop(PERFBPF_DROP_LEAKS_LIVE_FULL);
		return;
	}
	s = bpf_map_lookup_elem(&kstats, &a.key);
	if (!s) {
		bpf_map_update_elem(&kstats, &a.key, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&kstats, &a.key);
		if (!s)
			return;
	}
	__sync_fetch_and_add(&s->allocs, 1);
	__sync_fetch_and_add(&s->alloc_bytes, size);
}

static __always_inline void on_free(__u64 ptr)
{
	struct kleaks_alloc *a;
	struct kleaks_stats *s;

	if (!ptr)
		return;
	a = bpf_map_lookup_elem(&klive, &ptr);
	if (!a)
		return;
	s = bpf_map_lookup_elem(&kstats, &a->key);
	if (s) {
		__sync_fetch_and_add(&s->frees, 1);
		__sync_fetch_and_add(&s->free_bytes, a->size);
	}
	bpf_map_delete_elem(&klive, &ptr);
}

SEC("raw_tp/kmalloc")
int BPF_PROG(on_kmalloc, unsigned long call_site, const void *ptr, size_t bytes_req,
	     size_t bytes_alloc)
{
	on_alloc(ctx, (__u64)ptr, bytes_alloc, KLEAKS_KMALLOC);
	return 0;
}

SEC("raw_tp/kfree")
int BPF_PROG(on_kfree, unsigned long call_site, const void *ptr)
{
	on_free((__u64)ptr);
	return 0;
}

SEC("raw_tp/kmem_cache_alloc")
int BPF_PROG(on_kmem_cache_alloc, unsigned long call_site, const void *ptr, struct kmem_cache *s)
{
	on_alloc(ctx, (__u64)ptr, BPF_CORE_READ(s, size), KLEAKS_CACHE);
	return 0;
}

SEC("raw_tp/kmem_cache_free")
int BPF_PROG(on_kmem_cache_free, unsigned long call_site, const void *ptr)
{
	on_free((__u64)ptr);
	return 0;
}

SEC("raw_tp/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order)
{
	on_alloc(ctx, (__u64)page, PAGE_BYTES << (order & 15), KLEAKS_PAGES);
	return 0;
}

SEC("raw_tp/mm_page_free")
int BPF_PROG(on_page_free, struct page *page, unsigned int order)
{
	on_free((__u64)page);
	return 0;
}

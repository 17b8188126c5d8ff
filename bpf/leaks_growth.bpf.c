/* Leak tracer, growth mode (`perfbpf trace --leaks --mode growth`): safe to leave on a
 * production process. No allocator probes: the user code that faults in new memory
 * (exceptions:page_fault_user; user space keeps the anonymous pages) and grows the heap (brk, anonymous mmap, from
 * raw_syscalls), for one process. Every event is counted; one in every `sample_bytes` of
 * growth on average becomes a sample: the user registers and a copy of the user stack,
 * which user space unwinds with DWARF CFI (most programs have no frame pointers), plus the
 * kernel's frame-pointer walk as a fallback. A fault costs ≈1-2 µs already; counting adds
 * ≈0.1 µs, a sample a stack copy every sample_bytes. RSS comes from procfs. */
#include "common.bpf.h"
#include "perfbpf/leaks_growth.h"
#include "user_stack.bpf.h"

const volatile __u32 target_tgid = 0;
const volatile __u64 sample_bytes = GROWTH_DEFAULT_SAMPLE_BYTES;

#define NR_BRK 12
#define NR_MMAP 9
#define NR_MUNMAP 11
#define MAP_ANONYMOUS 0x20
#define PAGE_BYTES 4096

struct growth_totals totals = {};
__u64 last_brk = 0;

struct sample_buf {
	struct growth_sample hdr;
	__u8 stack[GROWTH_STACK_BYTES];
};

/* Built here, then copied into the ring buffer at the size actually read. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_buf);
} sample_scratch SEC(".maps");

/* Bytes of growth left on this CPU before the next sample. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} sample_left SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} growth_samples SEC(".maps");

/* An mmap in flight, by thread: its length, and whether it is anonymous. */
struct mmap_call {
	__u64 len;
	__u64 anonymous;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct mmap_call);
} mmap_calls SEC(".maps");

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

/* Gaps between samples vary uniformly over [period/2, 3*period/2): a program that grows
 * in a fixed rhythm cannot fall in step with the sampling (mean gap: the period). */
static __always_inline __s64 next_gap(void)
{
	__u64 period = sample_bytes ? sample_bytes : GROWTH_DEFAULT_SAMPLE_BYTES;

	return (__s64)(period / 2 + bpf_get_prandom_u32() % period);
}

static __always_inline void take_sample(void *ctx, struct pt_regs *regs, __u64 weight,
					__u16 kind, __u64 addr)
{
	__u64 t0 = bpf_ktime_get_ns();
	struct sample_buf *buf;
	__u32 zero = 0, size;
	long depth;

	buf = bpf_map_lookup_elem(&sample_scratch, &zero);
	if (!buf)
		return;
	buf->hdr.weight = weight;
	buf->hdr.tid = (__u32)bpf_get_current_pid_tgid();
	buf->hdr.kind = kind;
	buf->hdr.addr = addr;
	buf->hdr.ip = BPF_CORE_READ(regs, ip);
	buf->hdr.sp = BPF_CORE_READ(regs, sp);
	buf->hdr.bp = BPF_CORE_READ(regs, bp);
	buf->hdr.top_word = 0;
	bpf_probe_read_user(&buf->hdr.top_word, sizeof(buf->hdr.top_word), (void *)buf->hdr.sp);
	depth = bpf_get_stack(ctx, buf->hdr.fp_ips, sizeof(buf->hdr.fp_ips), BPF_F_USER_STACK);
	buf->hdr.fp_depth = depth > 0 ? depth / sizeof(__u64) : 0;
	buf->hdr.stack_bytes = copy_user_stack(buf->stack, buf->hdr.sp, &totals.short_stacks);
	size = sizeof(buf->hdr) + buf->hdr.stack_bytes;
	if (size > sizeof(*buf))
		size = sizeof(*buf);
	if (bpf_ringbuf_output(&growth_samples, buf, size, 0)) {
		__sync_fetch_and_add(&totals.lost_samples, 1);
		__sync_fetch_and_add(&totals.lost_bytes, weight);
	} else {
		__sync_fetch_and_add(&totals.samples, 1);
		__sync_fetch_and_add(&totals.sampled_bytes, weight);
	}
	__sync_fetch_and_add(&totals.sample_ns, bpf_ktime_get_ns() - t0);
}

/* Counts `bytes` of growth against this CPU's gap to the next sample point; an event that
 * reaches it is sampled, weighted by the sample points it covers. */
static __always_inline void account(void *ctx, struct pt_regs *regs, __u64 bytes, __u16 kind,
				    __u64 addr)
{
	__u64 period = sample_bytes ? sample_bytes : GROWTH_DEFAULT_SAMPLE_BYTES;
	__u32 zero = 0;
	__s64 *left, past;
	__u64 points;

	left = bpf_map_lookup_elem(&sample_left, &zero);
	if (!left)
		return;
	if (*left <= 0) /* first event on this CPU */
		*left = next_gap();
	if ((__u64)*left > bytes) {
		*left -= bytes;
		return;
	}
	past = bytes - *left; /* bytes of this event beyond the first sample point */
	points = 1 + past / period;
	*left = next_gap() - (__s64)(past % period);
	if (*left <= 0)
		*left = 1;
	take_sample(ctx, regs, points * period, kind, addr);
}

/* Every user fault of the target is counted; whether its page is anonymous memory is
 * decided in user space for the sampled ones, from the address, the target's mmaps (see
 * report_mapping) and its maps.
 * bpf_find_vma here would cost ≈17 µs per fault on a VM (measured: 18.7 against 1.9 µs of
 * CPU per faulted page), ten times the fault itself. */
SEC("raw_tp/page_fault_user")
int BPF_PROG(on_page_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	if (!is_target())
		return 0;
	__sync_fetch_and_add(&totals.fault_bytes, PAGE_BYTES);
	__sync_fetch_and_add(&totals.faults, 1);
	account(ctx, regs, PAGE_BYTES, GROWTH_SAMPLE_FAULT, address);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct mmap_call call;
	__u32 tid;

	if (!is_target())
		return 0;
	if (id == NR_MMAP) {
		tid = (__u32)bpf_get_current_pid_tgid();
		call.len = BPF_CORE_READ(regs, si);
		call.anonymous = (BPF_CORE_READ(regs, r10) & MAP_ANONYMOUS) != 0;
		bpf_map_update_elem(&mmap_calls, &tid, &call, BPF_ANY);
	} else if (id == NR_MUNMAP) {
		__sync_fetch_and_add(&totals.munmap_bytes, BPF_CORE_READ(regs, si));
	}
	return 0;
}

static __always_inline void report_mapping(__u64 start, struct mmap_call *call)
{
	struct growth_mapping m = {};

	m.tid = (__u32)bpf_get_current_pid_tgid();
	m.kind = GROWTH_EVENT_MAPPING;
	m.anonymous = call->anonymous;
	m.start = start;
	m.len = call->len;
	if (bpf_ringbuf_output(&growth_samples, &m, sizeof(m), 0))
		__sync_fetch_and_add(&totals.lost_mappings, 1);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct mmap_call *call;
	__u64 grown = 0;
	__u32 tid;
	long id;

	if (!is_target())
		return 0;
	id = BPF_CORE_READ(regs, orig_ax);
	if (id == NR_BRK) {
		__u64 now = ret, before = last_brk;

		last_brk = now;
		if (!before || now == before)
			return 0;
		if (now < before) {
			__sync_fetch_and_add(&totals.brk_shrink_bytes, before - now);
			return 0;
		}
		grown = now - before;
		__sync_fetch_and_add(&totals.brk_grow_bytes, grown);
	} else if (id == NR_MMAP) {
		tid = (__u32)bpf_get_current_pid_tgid();
		call = bpf_map_lookup_elem(&mmap_calls, &tid);
		if (!call)
			return 0;
		if (!(ret < 0 && ret > -4096)) {
			report_mapping(ret, call);
			if (call->anonymous)
				grown = call->len;
		}
		bpf_map_delete_elem(&mmap_calls, &tid);
		if (!grown)
			return 0;
		__sync_fetch_and_add(&totals.mmap_anon_bytes, grown);
	} else {
		return 0;
	}
	__sync_fetch_and_add(&totals.heap_calls, 1);
	account(ctx, regs, grown, GROWTH_SAMPLE_HEAP, 0);
	return 0;
}

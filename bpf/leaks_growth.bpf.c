/* Leak tracer, growth mode (`perfbpf trace --leaks --mode growth`): safe to leave on a
 * production process. No allocator probes: the user stacks that fault in new anonymous
 * memory (exceptions:page_fault_user) and grow the heap (brk, anonymous mmap, from
 * raw_syscalls), for one process, aggregated by stack in a hash. RSS comes from procfs in
 * user space. A fault costs ≈1 µs already; the program adds a VMA lookup and a stack walk. */
#include "common.bpf.h"
#include "perfbpf/leaks_growth.h"

const volatile __u32 target_tgid = 0;

#define NR_BRK 12
#define NR_MMAP 9
#define NR_MUNMAP 11
#define MAP_ANONYMOUS 0x20
#define PAGE_BYTES 4096

struct growth_totals totals = {};
__u64 last_brk = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GROWTH_MAX_DEPTH * sizeof(__u64));
} growth_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct growth_key);
	__type(value, struct growth_value);
} growth SEC(".maps");

/* An anonymous mmap in flight, by thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} mmap_len SEC(".maps");

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline struct growth_value *value_for(void *ctx, struct pt_regs *regs)
{
	struct growth_key key = {};
	struct growth_value zero = {}, *v;
	__u64 sp = BPF_CORE_READ(regs, sp);

	key.stack_id = bpf_get_stackid(ctx, &growth_stacks, BPF_F_USER_STACK);
	if (key.stack_id < 0) {
		__sync_fetch_and_add(&totals.stack_errors, 1);
		return NULL;
	}
	bpf_probe_read_user(&key.top_word, sizeof(key.top_word), (void *)sp);
	v = bpf_map_lookup_elem(&growth, &key);
	if (v)
		return v;
	bpf_map_update_elem(&growth, &key, &zero, BPF_NOEXIST); /* may race: looked up again */
	v = bpf_map_lookup_elem(&growth, &key);
	if (!v) {
		__sync_fetch_and_add(&totals.map_full, 1);
		count_drop(PERFBPF_DROP_LEAKS_STACKS_FULL);
	}
	return v;
}

static long vma_is_anon(struct task_struct *task, struct vm_area_struct *vma, bool *anon)
{
	*anon = BPF_CORE_READ(vma, vm_file) == NULL;
	return 0;
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(on_page_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	struct growth_value *v;
	bool anon = false;

	if (!is_target())
		return 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), address, vma_is_anon, &anon, 0) || !anon)
		return 0;
	__sync_fetch_and_add(&totals.fault_bytes, PAGE_BYTES);
	v = value_for(ctx, regs);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->fault_bytes, PAGE_BYTES);
	__sync_fetch_and_add(&v->faults, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	__u32 tid;
	__u64 len;

	if (!is_target())
		return 0;
	if (id == NR_MMAP) {
		if (!(BPF_CORE_READ(regs, r10) & MAP_ANONYMOUS))
			return 0;
		tid = (__u32)bpf_get_current_pid_tgid();
		len = BPF_CORE_READ(regs, si);
		bpf_map_update_elem(&mmap_len, &tid, &len, BPF_ANY);
	} else if (id == NR_MUNMAP) {
		__sync_fetch_and_add(&totals.munmap_bytes, BPF_CORE_READ(regs, si));
	}
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	struct growth_value *v;
	__u64 grown = 0, *len;
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
		len = bpf_map_lookup_elem(&mmap_len, &tid);
		if (!len)
			return 0;
		grown = ret < 0 && ret > -4096 ? 0 : *len;
		bpf_map_delete_elem(&mmap_len, &tid);
		if (!grown)
			return 0;
		__sync_fetch_and_add(&totals.mmap_anon_bytes, grown);
	} else {
		return 0;
	}
	v = value_for(ctx, regs);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->heap_bytes, grown);
	__sync_fetch_and_add(&v->heap_calls, 1);
	return 0;
}

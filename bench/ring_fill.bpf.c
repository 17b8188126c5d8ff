/* Fills a ring buffer with synthetic perfbpf_event records for bench/pipeline_bench, which
 * runs it with BPF_PROG_TEST_RUN and times how fast collect/event_ring drains them: the
 * records arrive through the same kernel ring and libbpf consumer as the real ones. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "perfbpf/common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} bench_ring SEC(".maps");

struct fill_args {
	__u32 count;
	__u32 submitted;
};

static long fill_one(__u64 i, void *ctx)
{
	__u32 *submitted = ctx;
	struct perfbpf_event *e;

	e = bpf_ringbuf_reserve(&bench_ring, sizeof(*e), 0);
	if (!e)
		return 1; /* full: stop */
	__builtin_memset(e, 0, sizeof(*e));
	e->type = PERFBPF_EV_EXIT - (i & 1); /* alternating exits and execs */
	e->pid = 1000 + (i & 0x3fff);
	e->tgid = e->pid;
	e->ts_ns = bpf_ktime_get_ns();
	e->comm[0] = 'w';
	e->comm[1] = '0' + (i % 10);
	bpf_ringbuf_submit(e, 0);
	(*submitted)++;
	return 0;
}

/* ctx: struct fill_args, count in, submitted out. */
SEC("syscall")
int fill(struct fill_args *args)
{
	__u32 submitted = 0; /* bpf_loop's context must be on the stack */

	bpf_loop(args->count, fill_one, &submitted, 0);
	args->submitted = submitted;
	return 0;
}

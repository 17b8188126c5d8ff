/* The floor of the overhead benchmark: programs that do nothing. bench/floor_load attaches
 * them to every hook `perfbpf top` attaches (one link per program top has there), so a
 * workload run under them pays only the kernel's cost of calling BPF at those hooks: the
 * least any tool attached there can cost, against which perfbpf's own work is measured.
 *
 * One program serves every raw tracepoint: it reads no argument, so the kernel accepts it
 * on tracepoints of any arity. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp")
int floor_raw_tp(void *ctx)
{
	return 0;
}

SEC("perf_event")
int floor_perf_event(void *ctx)
{
	return 0;
}

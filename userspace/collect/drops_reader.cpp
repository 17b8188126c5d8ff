#include "collect/drops_reader.h"

#include "collect/bpf_map_iter.h"

namespace perfbpf {

const char* drop_kind_name(uint32_t kind) {
    switch (kind) {
        case PERFBPF_DROP_RING_FULL:
            return "ring_full";
        case PERFBPF_DROP_TASK_MAP_FULL:
            return "task_map_full";
        case PERFBPF_DROP_WAKEUP_PID_RANGE:
            return "wakeup_pid_range";
        case PERFBPF_DROP_BLOCK_MAP_FULL:
            return "block_map_full";
        case PERFBPF_DROP_BLOCK_INFLIGHT:
            return "block_inflight_full";
        case PERFBPF_DROP_NET_MAP_FULL:
            return "net_map_full";
        case PERFBPF_DROP_MEM_MAP_FULL:
            return "mem_map_full";
        case PERFBPF_DROP_LEAKS_LIVE_FULL:
            return "leaks_live_full";
        case PERFBPF_DROP_LEAKS_STACKS_FULL:
            return "leaks_stacks_full";
        case PERFBPF_DROP_NETNS_FULL:
            return "netns_slots_full";
        default:
            return "other";
    }
}

void DropsReader::collect(SnapshotBuilder& builder) {
    for (uint32_t kind = 0; kind < PERFBPF_DROP_KIND_COUNT; ++kind) {
        auto values = per_cpu_values<uint64_t>(fd_, &kind);
        uint64_t total = 0;
        for (uint64_t v : values) total += v;
        uint64_t delta = total >= prev_[kind] ? total - prev_[kind] : total;
        prev_[kind] = total;
        builder.add_drops(drop_kind_name(kind), delta);
    }
}

}  // namespace perfbpf

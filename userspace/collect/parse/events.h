// The "events" ring buffer's records (include/perfbpf/common.h) turned into what an interval
// learns from them. Pure (bytes in, values out), so the fuzzer and unit tests drive it;
// collect/event_ring reads the ring, the Collector applies the result.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "model/snapshot_builder.h"
#include "perfbpf/common.h"

namespace perfbpf {

// One ring record as the kernel wrote it: nullopt when it is shorter than perfbpf_event (a
// BPF object of another version). Longer records carry fields this build does not know.
std::optional<perfbpf_event> decode_event(const void* data, size_t size);

struct ExecEvent {
    int tgid = 0;
    std::string comm;
};

// What the events of one interval say, in their order.
struct IntervalEvents {
    std::vector<ExecEvent> execs;  // names for processes that may be gone by the next read
    std::vector<OomKill> oom_kills;
};

// Adds one event: an exit goes into ctx.exited (the readers take the process's last values
// this interval), an OOM kill's rss pages become bytes, unknown types are ignored.
void apply_event(const perfbpf_event& e, uint64_t page_bytes, CollectContext& ctx,
                 IntervalEvents& out);

}  // namespace perfbpf

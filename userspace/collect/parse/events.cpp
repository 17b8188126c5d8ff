#include "collect/parse/events.h"

#include <cstring>

namespace perfbpf {

std::optional<perfbpf_event> decode_event(const void* data, size_t size) {
    if (!data || size < sizeof(perfbpf_event)) return std::nullopt;
    perfbpf_event e;
    std::memcpy(&e, data, sizeof(e));
    return e;
}

void apply_event(const perfbpf_event& e, uint64_t page_bytes, CollectContext& ctx,
                 IntervalEvents& out) {
    std::string comm(e.comm, strnlen(e.comm, sizeof(e.comm)));
    const int tgid = static_cast<int>(e.tgid);
    switch (e.type) {
        case PERFBPF_EV_EXEC:
            out.execs.push_back(ExecEvent{tgid, std::move(comm)});
            break;
        case PERFBPF_EV_EXIT:
            ctx.exited[tgid] = ExitedProcess{static_cast<int>(e.arg0), std::move(comm)};
            break;
        case PERFBPF_EV_OOM_KILL:
            out.oom_kills.push_back(OomKill{tgid, std::move(comm), e.arg1 * page_bytes, e.ts_ns});
            break;
        default:
            break;
    }
}

}  // namespace perfbpf

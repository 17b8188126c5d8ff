#include "collect/parse/mem_deltas.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace perfbpf {

void MemDeltas::apply(const std::vector<std::pair<uint32_t, mem_rss_slot>>& live,
                      const std::vector<mem_exit>& exits, SnapshotBuilder& builder) {
    ++read_;
    std::set<uint32_t> live_tgids;
    for (const auto& [tgid, _] : live) live_tgids.insert(tgid);

    for (const mem_exit& e : exits) {
        auto it = prev_.find(e.tgid);
        if (live_tgids.contains(e.tgid)) {
            if (it != prev_.end()) prev_.erase(it);  // the predecessor's level
            continue;
        }
        ProcessSample& p = builder.process(static_cast<int>(e.tgid));
        const uint64_t before = it != prev_.end() ? it->second.pages : 0;
        p.exited = true;
        p.exit_code = e.exit_code;
        if (p.comm.empty()) p.comm.assign(e.comm, strnlen(e.comm, sizeof(e.comm)));
        p.rss_bytes = 0;
        p.rss_growth_bytes = -static_cast<int64_t>(before * page_bytes_);
        p.rss_peak_bytes = std::max<uint64_t>({e.peak_pages, e.rss_pages, before}) * page_bytes_;
        builder.set_exit_fault_totals(static_cast<int>(e.tgid), {e.minflt, e.majflt});
        if (it != prev_.end()) prev_.erase(it);
    }
    for (const auto& [tgid, slot] : live) {
        ProcessSample& p = builder.process(static_cast<int>(tgid));
        auto it = prev_.find(tgid);
        const uint64_t before = it != prev_.end() ? it->second.pages : 0;
        p.rss_bytes = uint64_t{slot.rss_pages} * page_bytes_;
        p.rss_growth_bytes =
            static_cast<int64_t>(p.rss_bytes) - static_cast<int64_t>(before * page_bytes_);
        p.rss_peak_bytes = std::max<uint64_t>(slot.peak_pages, slot.rss_pages) * page_bytes_;
        prev_[tgid] = Prev{slot.rss_pages, read_};
    }
    for (auto it = prev_.begin(); it != prev_.end();) {
        if (read_ - it->second.read > kForgetAfterReads)
            it = prev_.erase(it);
        else
            ++it;
    }
}

}  // namespace perfbpf

#include "leaks/kernel_reader.h"

#include <bpf/bpf.h>

#include "collect/bpf_map_iter.h"
#include "probes/leaks_kernel_probe.h"

namespace perfbpf {

namespace {
double outstanding(const kleaks_stats& s) {
    return static_cast<double>(s.alloc_bytes) - static_cast<double>(s.free_bytes);
}
}  // namespace

void LeaksKernelReader::sample(uint64_t now_ns) {
    const double t = static_cast<double>(now_ns - start_ns_) / 1e9;
    for_each_entry<int32_t, kleaks_stats>(probe_.stats_fd(),
                                          [&](const int32_t& id, const kleaks_stats& s) {
                                              last_[id] = s;
                                              auto& series = series_[id];
                                              if (series.empty()) series.push_back({0.0, 0.0});
                                              series.push_back({t, outstanding(s)});
                                          });
}

LeakReport LeaksKernelReader::report(uint64_t now_ns, uint64_t min_age_ns) {
    LeakReport r;
    r.mode = "kernel";
    r.duration_ns = now_ns - start_ns_;
    const uint64_t young_after = min_age_ns && now_ns > min_age_ns ? now_ns - min_age_ns : 0;
    struct Live {
        uint64_t oldest = 0, count = 0, bytes = 0;
    };
    std::map<int32_t, Live> live;
    for_each_entry<uint64_t, kleaks_alloc>(probe_.live_fd(),
                                           [&](const uint64_t&, const kleaks_alloc& a) {
                                               auto& l = live[a.stack_id];
                                               if (!l.count || a.ts_ns < l.oldest)
                                                   l.oldest = a.ts_ns;
                                               l.count++;
                                               if (!young_after || a.ts_ns <= young_after)
                                                   l.bytes += a.size;
                                           });
    for (const auto& [id, st] : last_) {
        LeakStack s;
        s.index = static_cast<uint32_t>(id);
        s.kernel = true;
        s.ip0_exact = true;
        s.total_allocs = static_cast<double>(st.allocs);
        s.total_frees = static_cast<double>(st.frees);
        s.allocated_bytes = static_cast<double>(st.alloc_bytes);
        s.outstanding_bytes = std::max(0.0, outstanding(st));
        s.outstanding_allocs = std::max(0.0, s.total_allocs - s.total_frees);
        if (auto it = live.find(id); it != live.end()) {
            if (it->second.oldest && now_ns > it->second.oldest)
                s.oldest_age_ns = now_ns - it->second.oldest;
            if (young_after) s.outstanding_bytes = static_cast<double>(it->second.bytes);
        }
        uint64_t ips[KLEAKS_MAX_DEPTH] = {};
        if (bpf_map_lookup_elem(probe_.stacks_fd(), &id, ips) == 0) {
            for (uint64_t ip : ips) {
                if (!ip) break;
                s.ips.push_back(ip);
            }
        }
        s.series = series_[id];
        r.stacks.push_back(std::move(s));
    }
    r.counters["live_full"] = probe_.live_full();
    r.counters["stack_errors"] = probe_.stack_errors();
    return r;
}

}  // namespace perfbpf

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

LeaksKernelReader::LeaksKernelReader(const LeaksKernelProbe& probe, uint64_t start_ns)
    : probe_(probe), start_ns_(start_ns), contexts_(probe.user_stacks_fd()) {}

void LeaksKernelReader::sample(uint64_t now_ns, const MappingSet& maps) {
    // Before the totals: a context is sent before the first allocation that names it.
    contexts_.consume(maps);
    const double t = static_cast<double>(now_ns - start_ns_) / 1e9;
    for_each_entry<kleaks_key, kleaks_stats>(probe_.stats_fd(),
                                             [&](const kleaks_key& k, const kleaks_stats& s) {
                                                 const Key key{k.stack_id, k.ustack_id};
                                                 last_[key] = s;
                                                 auto& series = series_[key];
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
    std::map<Key, Live> live;
    for_each_entry<uint64_t, kleaks_alloc>(probe_.live_fd(),
                                           [&](const uint64_t&, const kleaks_alloc& a) {
                                               auto& l = live[{a.key.stack_id, a.key.ustack_id}];
                                               if (!l.count || a.ts_ns < l.oldest)
                                                   l.oldest = a.ts_ns;
                                               l.count++;
                                               if (!young_after || a.ts_ns <= young_after)
                                                   l.bytes += a.size;
                                           });
    // User contexts that unwind to the same path (one function called at two stack
    // depths, or a context sent twice) are one stack of the report.
    struct Group {
        kleaks_stats st{};
        Live live;
        std::map<double, double> series;  // time -> outstanding bytes, summed
        const SampleStack* user = nullptr;
    };
    std::map<std::pair<int32_t, std::vector<uint64_t>>, Group> groups;
    for (const auto& [key, st] : last_) {
        const SampleStack* user = contexts_.find(key.second);
        Group& g = groups[{key.first, user ? user->ips : std::vector<uint64_t>{}}];
        g.user = user;
        g.st.allocs += st.allocs;
        g.st.frees += st.frees;
        g.st.alloc_bytes += st.alloc_bytes;
        g.st.free_bytes += st.free_bytes;
        g.st.kind = st.kind;
        if (auto it = live.find(key); it != live.end()) {
            const Live& l = it->second;
            if (l.count && (!g.live.count || l.oldest < g.live.oldest)) g.live.oldest = l.oldest;
            g.live.count += l.count;
            g.live.bytes += l.bytes;
        }
        for (const auto& p : series_[key]) g.series[p.t_s] += p.bytes;
    }
    for (const auto& [gkey, g] : groups) {
        const int32_t id = gkey.first;
        const kleaks_stats& st = g.st;
        LeakStack s;
        s.index = static_cast<uint32_t>(id);
        s.kernel = true;
        s.ip0_exact = true;
        s.total_allocs = static_cast<double>(st.allocs);
        s.total_frees = static_cast<double>(st.frees);
        s.allocated_bytes = static_cast<double>(st.alloc_bytes);
        s.outstanding_bytes = std::max(0.0, outstanding(st));
        s.outstanding_allocs = std::max(0.0, s.total_allocs - s.total_frees);
        if (g.live.count) {
            if (g.live.oldest && now_ns > g.live.oldest) s.oldest_age_ns = now_ns - g.live.oldest;
            if (young_after) s.outstanding_bytes = static_cast<double>(g.live.bytes);
        }
        uint64_t ips[KLEAKS_MAX_DEPTH] = {};
        if (bpf_map_lookup_elem(probe_.stacks_fd(), &id, ips) == 0) {
            for (uint64_t ip : ips) {
                if (!ip) break;
                s.ips.push_back(ip);
            }
        }
        if (g.user) {
            s.user_ips = g.user->ips;
            s.user_whole = g.user->whole;
            s.user_caller_candidate = g.user->caller_candidate;
        }
        for (const auto& [t, bytes] : g.series) s.series.push_back({t, bytes});
        r.stacks.push_back(std::move(s));
    }
    r.counters["live_full"] = probe_.live_full();
    r.counters["stack_errors"] = probe_.stack_errors();
    const kleaks_user_totals u = probe_.user_totals();
    r.counters["user_contexts"] = u.sent;
    r.counters["user_contexts_lost"] = u.lost;
    r.counters["user_contexts_full"] = u.ids_full;
    r.counters["user_context_ns"] = u.copy_ns;
    r.counters["user_context_lookups"] = u.lookups;
    r.counters["user_context_lookup_ns"] = u.lookup_ns;
    r.counters["interrupt_allocs"] = u.in_interrupt;
    r.counters["short_stack_copies"] = u.short_stacks;
    r.counters["frame_pointer_stacks"] = contexts_.frame_pointer_stacks();
    r.counters["malformed_contexts"] = contexts_.malformed();
    if (u.ids_full)
        r.notes.push_back(std::to_string(u.ids_full) +
                          " allocations came from user contexts beyond the table's " +
                          std::to_string(KLEAKS_MAX_USER_CONTEXTS) +
                          ": they have kernel frames only");
    return r;
}

}  // namespace perfbpf

#include "collect/leaks_growth_reader.h"

#include <bpf/bpf.h>

#include "collect/bpf_map_iter.h"
#include "detect/leak_trend.h"
#include "probes/leaks_growth_probe.h"
#include "util/files.h"

namespace perfbpf {

RssSample parse_status_rss(std::string_view text) {
    RssSample s;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto f = split_fields(line, " \t:");
        if (f.size() < 2) continue;
        auto kb = parse_u64(f[1]);
        if (!kb) continue;
        if (f[0] == "VmRSS") s.rss_bytes = *kb * 1024;
        if (f[0] == "RssAnon") s.anon_bytes = *kb * 1024;
    }
    return s;
}

TrendVerdict classify_rss(const std::vector<TrendPoint>& rss, double duration_s) {
    TrendInput in;
    in.frees_known = false;
    in.duration_s = duration_s;
    if (!rss.empty()) {
        // Growth since the trace started: the start is the zero line.
        const double base = rss.front().bytes;
        for (const auto& p : rss) in.series.push_back({p.t_s, p.bytes - base});
    }
    return classify_trend(in);
}

void LeaksGrowthReader::sample(uint64_t now_ns) {
    const double t = static_cast<double>(now_ns - start_ns_) / 1e9;
    if (auto status = read_file(proc_root_ + "/" + std::to_string(pid_) + "/status")) {
        RssSample s = parse_status_rss(*status);
        if (s.rss_bytes) {
            rss_.push_back({t, static_cast<double>(s.rss_bytes)});
            anon_.push_back({t, static_cast<double>(s.anon_bytes)});
        }
    }
    for_each_entry<growth_key, growth_value>(
        probe_.growth_fd(), [&](const growth_key& k, const growth_value& v) {
            last_[k] = v;
            auto& series = series_[k];
            if (series.empty()) series.push_back({0.0, 0.0});
            series.push_back({t, static_cast<double>(v.fault_bytes + v.heap_bytes)});
        });
}

LeakReport LeaksGrowthReader::report(uint64_t now_ns) {
    LeakReport r;
    r.mode = "growth";
    r.duration_ns = now_ns - start_ns_;
    const double dur_s = static_cast<double>(r.duration_ns) / 1e9;

    ProcessGrowth p;
    p.pid = pid_;
    p.rss = rss_;
    p.anon = anon_;
    p.trend = classify_rss(rss_, dur_s);
    const growth_totals tot = probe_.totals();
    p.faulted_bytes = static_cast<double>(tot.fault_bytes);
    p.heap_growth_bytes = static_cast<double>(tot.brk_grow_bytes + tot.mmap_anon_bytes) -
                          static_cast<double>(tot.brk_shrink_bytes + tot.munmap_bytes);
    const bool rss_flat = p.trend.cls == LeakClass::plateau || p.trend.cls == LeakClass::churn;
    r.processes.push_back(p);
    r.counters["stack_errors"] = tot.stack_errors;
    r.counters["map_full"] = tot.map_full;

    for (const auto& [key, v] : last_) {
        LeakStack s;
        s.index = static_cast<uint32_t>(key.stack_id);
        s.outstanding_bytes = static_cast<double>(v.fault_bytes + v.heap_bytes);
        s.outstanding_allocs = static_cast<double>(v.faults + v.heap_calls);
        s.total_allocs = s.outstanding_allocs;
        s.allocated_bytes = s.outstanding_bytes;
        s.series = series_[key];
        uint64_t ips[GROWTH_MAX_DEPTH] = {};
        if (bpf_map_lookup_elem(probe_.stacks_fd(), &key.stack_id, ips) == 0) {
            for (uint64_t ip : ips) {
                if (!ip) break;
                s.ips.push_back(ip);
            }
        }
        s.ip0_exact = true;  // the faulting or syscall instruction
        s.caller_candidate = key.top_word;
        TrendInput in;
        in.series = s.series;
        in.frees_known = false;
        in.duration_s = dur_s;
        in.owner_rss_flat = rss_flat;
        s.trend = classify_trend(in);
        r.stacks.push_back(std::move(s));
    }
    return r;
}

}  // namespace perfbpf

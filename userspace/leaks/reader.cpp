#include "leaks/reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "detect/leak_interval.h"
#include "probes/leaks_probe.h"

namespace perfbpf {

StackTotals sum_cpus(const leaks_stack_stats* per_cpu, size_t ncpus) {
    StackTotals t;
    for (size_t c = 0; c < ncpus; ++c) {
        const auto& s = per_cpu[c];
        t.allocs += static_cast<double>(s.allocs);
        t.frees += static_cast<double>(s.frees);
        t.est_allocs += static_cast<double>(s.est_alloc_q16) / LEAKS_WEIGHT_ONE;
        t.est_frees += static_cast<double>(s.est_free_q16) / LEAKS_WEIGHT_ONE;
        t.est_alloc_bytes += static_cast<double>(s.est_alloc_bytes);
        t.est_free_bytes += static_cast<double>(s.est_free_bytes);
        t.untracked += static_cast<double>(s.untracked);
        t.est_untracked += static_cast<double>(s.est_untracked_q16) / LEAKS_WEIGHT_ONE;
        t.est_untracked_bytes += static_cast<double>(s.est_untracked_bytes);
    }
    return t;
}

void add_live(LiveSummary& s, const leaks_alloc& a, uint64_t young_after_ns) {
    if (!s.entries || a.ts_ns < s.oldest_ts_ns) s.oldest_ts_ns = a.ts_ns;
    s.entries++;
    const double w = static_cast<double>(a.weight_q16) / LEAKS_WEIGHT_ONE;
    const double size = static_cast<double>(a.size);
    if (young_after_ns && a.ts_ns > young_after_ns) return;
    if (w > 1.0) s.variance_bytes2 += size * size * w * (w - 1.0);
    s.old_bytes += size * w;
    s.old_allocs += w;
}

void LeaksReader::for_each_live(
    const std::function<void(uint64_t addr, const leaks_alloc&)>& fn) const {
    std::vector<uint64_t> keys(4096);
    std::vector<leaks_alloc> vals(4096);
    for (const int fd : probe_.live_fds()) {
        uint64_t batch = 0;
        bool first = true;
        for (;;) {
            uint32_t n = static_cast<uint32_t>(keys.size());
            int err = bpf_map_lookup_batch(fd, first ? nullptr : &batch, &batch, keys.data(),
                                           vals.data(), &n, nullptr);
            first = false;
            for (uint32_t i = 0; i < n; ++i) fn(keys[i], vals[i]);
            if (err) break;  // ENOENT: the last batch
        }
    }
}

std::vector<HeldBlock> LeaksReader::outstanding_blocks() const {
    const uint32_t base = probe_.stack_base();
    std::vector<HeldBlock> out;
    for_each_live([&](uint64_t addr, const leaks_alloc& a) {
        // Blocks of an earlier program image (before an exec) went with it.
        if (a.stack != 0 && a.stack <= base) return;
        out.push_back({addr, a.size, a.stack});
    });
    return out;
}

std::map<uint32_t, StackTotals> LeaksReader::read_totals() {
    std::map<uint32_t, StackTotals> out;
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return out;
    const uint32_t top = std::min(probe_.stack_top(), probe_.max_stacks() - 1);
    last_top_ = top;
    std::vector<leaks_stack_stats> values(static_cast<size_t>(ncpus));
    for (uint32_t idx = 0; idx <= top; ++idx) {
        if (bpf_map_lookup_elem(probe_.stack_stats_fd(), &idx, values.data()) != 0) continue;
        StackTotals t = sum_cpus(values.data(), values.size());
        if (t.allocs > 0 || t.frees > 0) out[idx] = t;
    }
    return out;
}

void LeaksReader::sample(uint64_t now_ns) {
    const double t = static_cast<double>(now_ns - start_ns_) / 1e9;
    last_ = read_totals();
    for (const auto& [idx, totals] : last_) {
        auto& series = series_[idx];
        if (series.empty()) series.push_back({0.0, 0.0});
        series.push_back({t, totals.outstanding_bytes()});
    }
}

LeakReport LeaksReader::report(uint64_t now_ns, const std::string& mode, bool estimated,
                               uint64_t min_age_ns) {
    const uint64_t young_after = min_age_ns && now_ns > min_age_ns ? now_ns - min_age_ns : 0;
    LeakReport r;
    r.mode = mode;
    r.estimated = estimated;
    r.duration_ns = now_ns - start_ns_;
    r.sample_mean_bytes = probe_.sample_mean_bytes();
    const uint32_t base = probe_.stack_base();

    // Outstanding allocations, by stack.
    std::map<uint32_t, LiveSummary> live;
    for_each_live([&](uint64_t, const leaks_alloc& a) { add_live(live[a.stack], a, young_after); });

    struct {
        double bytes = 0, variance = 0;
        uint64_t samples = 0;
    } whole;  // sampled mode: the program's outstanding bytes, every stack together
    for (const auto& [idx, totals] : last_) {
        // Stacks of an earlier process image (before an exec) held memory that exec freed.
        if (idx != 0 && idx <= base) continue;
        LeakStack s;
        s.index = idx;
        s.total_allocs = estimated ? totals.est_allocs : totals.allocs;
        s.total_frees = estimated ? totals.est_frees : totals.frees;
        s.allocated_bytes = totals.est_alloc_bytes;
        s.outstanding_bytes = std::max(0.0, totals.outstanding_bytes());
        s.outstanding_allocs = std::max(0.0, totals.outstanding_allocs());
        s.untracked_allocs = estimated ? totals.est_untracked : totals.untracked;
        if (auto it = live.find(idx); it != live.end()) {
            const auto& l = it->second;
            s.samples = l.entries;
            if (young_after) {
                s.outstanding_bytes = l.old_bytes;
                s.outstanding_allocs = l.old_allocs;
            }
            if (l.oldest_ts_ns && now_ns > l.oldest_ts_ns)
                s.oldest_age_ns = now_ns - l.oldest_ts_ns;
        } else if (young_after) {
            s.outstanding_bytes = s.outstanding_allocs = 0;
        }
        if (estimated) {
            const auto& l = live[idx];
            whole.bytes += s.outstanding_bytes;
            whole.variance += l.variance_bytes2;
            whole.samples += l.entries;
            auto iv = outstanding_interval(s.outstanding_bytes, l.variance_bytes2, l.entries,
                                           static_cast<double>(r.sample_mean_bytes));
            s.outstanding_bytes_lo = iv.lo;
            s.outstanding_bytes_hi = iv.hi;
        }
        if (idx != 0) {  // 0: no stack was stored for these allocations
            leaks_stack st{};
            if (bpf_map_lookup_elem(probe_.stacks_fd(), &idx, &st) == 0) {
                uint32_t depth = std::min<uint32_t>(st.depth, LEAKS_MAX_DEPTH);
                s.ips.assign(st.ips, st.ips + depth);
                s.kernel = st.flags & LEAKS_STACK_KERNEL;
                s.ip0_exact = st.flags & LEAKS_STACK_IP0_EXACT;
                s.whole = st.flags & LEAKS_STACK_WHOLE;
            }
        }
        if (s.ips.empty()) {
            r.unattributed.allocs += s.total_allocs;
            r.unattributed.outstanding_bytes += s.outstanding_bytes;
            r.unattributed.outstanding_allocs += s.outstanding_allocs;
            continue;
        }
        if (auto it = series_.find(idx); it != series_.end()) s.series = it->second;
        r.stacks.push_back(std::move(s));
    }

    if (estimated) {
        auto iv = outstanding_interval(whole.bytes, whole.variance, whole.samples,
                                       static_cast<double>(r.sample_mean_bytes));
        r.sampled_total = {whole.bytes, iv.lo, iv.hi, whole.samples};
    }
    r.counters["images"] = probe_.images();
    r.counters["stacks"] = probe_.stack_top() - base;
    // Tracer counters, summed over CPUs.
    const char* names[] = {"batches",      "events",   "live_full",  "stack_range",
                           "unknown_free", "replaced", "read_fault", "stack_full"};
    const int ncpus = libbpf_num_possible_cpus();
    for (uint32_t i = 0; i < sizeof(names) / sizeof(names[0]) && ncpus > 0; ++i) {
        std::vector<uint64_t> v(static_cast<size_t>(ncpus));
        if (bpf_map_lookup_elem(probe_.counters_fd(), &i, v.data()) != 0) continue;
        uint64_t sum = 0;
        for (auto x : v) sum += x;
        r.counters[names[i]] = sum;
    }
    return r;
}

}  // namespace perfbpf

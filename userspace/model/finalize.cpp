#include "model/finalize.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace perfbpf {

namespace {

double share_pct(uint64_t ns, uint64_t interval_ns) {
    return interval_ns ? 100.0 * static_cast<double>(ns) / static_cast<double>(interval_ns) : 0.0;
}

// Busiest first, then by pid: the order top(1) users expect and scripts can rely on.
// Sorted as small keys and moved once: a ProcessSample is large (two histograms, strings),
// and a merge sort of the samples themselves moved each one about log2(n) times.
void sort_busiest_first(std::vector<ProcessSample>& processes) {
    struct Key {
        uint64_t oncpu_ns;
        int pid;
        uint32_t index;  // ties keep their order, as a stable sort would
    };
    std::vector<Key> keys;
    keys.reserve(processes.size());
    for (uint32_t i = 0; i < processes.size(); ++i)
        keys.push_back({processes[i].oncpu_ns, processes[i].pid, i});
    std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
        if (a.oncpu_ns != b.oncpu_ns) return a.oncpu_ns > b.oncpu_ns;
        if (a.pid != b.pid) return a.pid < b.pid;
        return a.index < b.index;
    });
    std::vector<ProcessSample> sorted;
    sorted.reserve(processes.size());
    for (const Key& k : keys) sorted.push_back(std::move(processes[k.index]));
    processes = std::move(sorted);
}

}  // namespace

void finalize_snapshot(Snapshot& s) {
    // Cgroups the collector read control files of, plus one per path its processes are in.
    std::map<std::string, CgroupSample> cgroups;
    for (auto& c : s.cgroups) {
        std::string path = c.path;
        cgroups[path] = std::move(c);
    }
    static const std::string kRootCgroup = "/";
    CgroupSample* last = nullptr;
    const std::string* last_path = nullptr;
    for (auto& p : s.processes) {
        p.cpu_pct = share_pct(p.oncpu_ns, s.interval_ns);
        p.runq_lat_p99_us = p.runq_hist.percentile_us(0.99);
        p.io_lat_p99_us = p.io_lat_hist.percentile_us(0.99);
        // Neighbours often share a cgroup: one map lookup per run of them.
        const std::string& path = p.cgroup.empty() ? kRootCgroup : p.cgroup;
        if (!last || *last_path != path) {
            last = &cgroups[path];
            last_path = &path;
        }
        CgroupSample& c = *last;
        c.processes++;
        c.oncpu_ns += p.oncpu_ns;
        c.offcpu_ns += p.offcpu_ns;
        c.runq_wait_ns += p.runq_wait_ns;
        c.runq_waits += p.runq_waits;
        c.runq_hist.merge(p.runq_hist);
        c.vol_switches += p.vol_switches;
        c.invol_switches += p.invol_switches;
        c.read_bytes += p.read_bytes;
        c.write_bytes += p.write_bytes;
        c.tcp_tx_bytes += p.tcp_tx_bytes;
        c.tcp_rx_bytes += p.tcp_rx_bytes;
        c.tcp_retransmits += p.tcp_retransmits;
        c.rss_bytes += p.rss_bytes;
        c.rss_growth_bytes += p.rss_growth_bytes;
    }
    s.cgroups.clear();
    for (auto& [path, c] : cgroups) {
        c.path = path;
        c.cpu_pct = share_pct(c.oncpu_ns, s.interval_ns);
        c.runq_lat_p99_us = c.runq_hist.percentile_us(0.99);
        c.burst_avg_us = static_cast<double>(c.oncpu_ns) / 1000.0 /
                         static_cast<double>(std::max<uint64_t>(c.vol_switches, 1));
        s.cgroups.push_back(std::move(c));
    }
    s.system.runq_hist = Log2Histogram();
    for (auto& c : s.cpus) {
        c.runq_lat_p99_us = c.runq_hist.percentile_us(0.99);
        s.system.runq_hist.merge(c.runq_hist);
    }
    s.system.runq_lat_p99_us = s.system.runq_hist.percentile_us(0.99);
    for (auto& n : s.netns) {
        n.srtt_p50_us = n.srtt_hist.percentile_us(0.50);
        n.srtt_p99_us = n.srtt_hist.percentile_us(0.99);
    }
    for (auto& d : s.devices) {
        d.lat_p50_us = d.lat_hist.percentile_us(0.50);
        d.lat_p99_us = d.lat_hist.percentile_us(0.99);
        d.read_lat_p99_us = d.read_lat_hist.percentile_us(0.99);
        d.write_lat_p99_us = d.write_lat_hist.percentile_us(0.99);
    }
    sort_busiest_first(s.processes);
    std::stable_sort(
        s.cgroups.begin(), s.cgroups.end(),
        [](const CgroupSample& a, const CgroupSample& b) { return a.oncpu_ns > b.oncpu_ns; });
}

bool cgroup_within(const std::string& path, const std::string& prefix) {
    if (prefix.empty() || prefix == "/") return true;
    std::string p = prefix;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (!path.starts_with(p)) return false;
    return path.size() == p.size() || path[p.size()] == '/';
}

void apply_filter(Snapshot& s, const SnapshotFilter& f) {
    if (f.empty()) return;
    std::erase_if(s.processes, [&](const ProcessSample& p) {
        if (f.pid && p.pid != *f.pid) return true;
        if (f.cgroup && !cgroup_within(p.cgroup, *f.cgroup)) return true;
        return false;
    });
    if (f.cgroup)
        std::erase_if(s.cgroups,
                      [&](const CgroupSample& c) { return !cgroup_within(c.path, *f.cgroup); });
    if (f.pid) {
        std::erase_if(s.cgroups, [&](const CgroupSample& c) {
            return std::none_of(s.processes.begin(), s.processes.end(),
                                [&](const ProcessSample& p) { return p.cgroup == c.path; });
        });
    }
}

}  // namespace perfbpf

#include "detect/growth_target.h"

#include <charconv>

namespace perfbpf {

std::optional<GrowthTarget> memory_growth_target(const Incident& incident, int exclude_pid) {
    const IncidentSeries* best = nullptr;
    int best_pid = 0;
    for (const IncidentSeries& s : incident.series) {
        if (!s.key.metric.starts_with("rss_") || resource_of(s.key) != Resource::memory) continue;
        if (s.peak.observed <= s.peak.band_high) continue;  // fell: no growth to trace
        int pid = 0;
        for (const auto& [k, v] : s.key.labels)
            if (k == "pid") std::from_chars(v.data(), v.data() + v.size(), pid);
        if (pid <= 0 || pid == exclude_pid) continue;
        if (!best || s.peak.score > best->peak.score) best = &s, best_pid = pid;
    }
    if (!best) return std::nullopt;
    GrowthTarget t{best_pid, ""};
    for (const auto& [k, v] : best->key.labels)
        if (k == "comm") t.comm = v;
    return t;
}

}  // namespace perfbpf

#include "detect/forecast_limits.h"

namespace perfbpf {
namespace {

std::string label_of(const SeriesKey& key, std::string_view name) {
    for (const auto& [k, v] : key.labels)
        if (k == name) return v;
    return {};
}

SeriesKey same_object(const SeriesKey& key, std::string metric) {
    return SeriesKey{std::move(metric), key.labels};
}

// A cgroup's memory.high then memory.max, named by `who`.
void cgroup_limits(const std::string& cgroup, const std::string& who, LimitRule& rule) {
    const Labels l{{"cgroup", cgroup}};
    rule.candidates.push_back({{"memory_high_bytes", l}, who + " at memory.high"});
    rule.candidates.push_back({{"memory_max_bytes", l}, who + " at memory.max"});
}

}  // namespace

const std::vector<std::string_view>& metrics_with_limits() {
    static const std::vector<std::string_view> all = {"fs_used_bytes",  "fs_avail_bytes",
                                                      "fs_inodes_used", "memory_current_bytes",
                                                      "rss_bytes",      "mem_available_bytes"};
    return all;
}

std::optional<LimitRule> limit_rule(const SeriesKey& key) {
    const std::string& m = key.metric;
    LimitRule rule;
    const std::string device = label_of(key, "device");
    const std::string cgroup = label_of(key, "cgroup");
    if (m == "fs_used_bytes") {
        rule.candidates.push_back({same_object(key, "fs_size_bytes"), device + " full"});
    } else if (m == "fs_inodes_used") {
        // btrfs and others report 0 inodes: no limit there.
        rule.candidates.push_back({same_object(key, "fs_inodes_total"), device + " out of inodes"});
    } else if (m == "fs_avail_bytes") {
        rule.constant = 0;
        rule.constant_meaning = device + " full";
        rule.upward = false;
    } else if (m == "mem_available_bytes") {
        rule.constant = 0;
        rule.constant_meaning = "no memory available";
        rule.upward = false;
    } else if (m == "memory_current_bytes") {
        cgroup_limits(cgroup, cgroup, rule);
    } else if (m == "rss_bytes") {
        // A process (pid label) or a cgroup's processes; either way its cgroup's limits
        // bound it, else the machine's memory.
        const std::string pid = label_of(key, "pid");
        const std::string who =
            pid.empty() ? cgroup : "pid " + pid + " (" + label_of(key, "comm") + ")";
        if (!cgroup.empty()) cgroup_limits(cgroup, who, rule);
        rule.candidates.push_back({{"mem_total_bytes", {}}, who + " at the machine's memory"});
    } else {
        return std::nullopt;
    }
    return rule;
}

}  // namespace perfbpf

#include "collect/parse/mounts.h"

#include "util/files.h"

namespace perfbpf {

CgroupMode cgroup_mode_from_mounts(const std::string& mounts, std::string* cgroup2_mount) {
    bool v1 = false, v2 = false;
    for (auto line : split_fields(mounts, "\n")) {
        auto f = split_fields(line);
        if (f.size() < 3) continue;
        if (f[2] == "cgroup2") {
            v2 = true;
            if (cgroup2_mount && cgroup2_mount->empty()) *cgroup2_mount = std::string(f[1]);
        } else if (f[2] == "cgroup") {
            v1 = true;
        }
    }
    if (v1 && v2) return CgroupMode::hybrid;
    if (v2) return CgroupMode::v2;
    if (v1) return CgroupMode::v1;
    return CgroupMode::none;
}

std::map<std::string, std::string> cgroup_v1_mounts(const std::string& mounts) {
    static const std::string_view kControllers[] = {
        "cpu",  "cpuacct", "cpuset",   "memory",     "devices", "freezer", "blkio",
        "pids", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma",    "misc"};
    std::map<std::string, std::string> out;
    for (auto line : split_fields(mounts, "\n")) {
        auto f = split_fields(line);
        if (f.size() < 4 || f[2] != "cgroup") continue;
        for (auto opt : split_fields(f[3], ","))
            for (auto c : kControllers)
                if (opt == c) out.emplace(std::string(opt), std::string(f[1]));
    }
    return out;
}

std::string cgroup_v1_mount(const std::string& mounts, std::string_view controller) {
    auto all = cgroup_v1_mounts(mounts);
    auto it = all.find(std::string(controller));
    return it == all.end() ? std::string() : it->second;
}

std::string tracefs_from_mounts(const std::string& mounts) {
    for (auto line : split_fields(mounts, "\n")) {
        auto f = split_fields(line);
        if (f.size() >= 3 && f[2] == "tracefs") return std::string(f[1]);
    }
    return {};
}

}  // namespace perfbpf

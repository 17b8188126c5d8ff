#include "model/snapshot_builder.h"

namespace perfbpf {

ProcessSample& SnapshotBuilder::process(int tgid) {
    if (auto found = process_index_.find(tgid); found != process_index_.end())
        return *found->second;
    auto [it, inserted] = processes_.try_emplace(tgid);
    if (inserted) it->second.pid = tgid;
    process_index_.emplace(tgid, &it->second);
    return it->second;
}

DeviceSample& SnapshotBuilder::device(uint32_t major, uint32_t minor) {
    uint64_t key = (static_cast<uint64_t>(major) << 32) | minor;
    auto [it, inserted] = devices_.try_emplace(key);
    if (inserted) {
        it->second.major = major;
        it->second.minor = minor;
    }
    return it->second;
}

CpuSample& SnapshotBuilder::cpu(int cpu) {
    auto [it, inserted] = cpus_.try_emplace(cpu);
    if (inserted) it->second.cpu = cpu;
    return it->second;
}

NetnsSample& SnapshotBuilder::netns(uint64_t inode) {
    auto [it, inserted] = netns_.try_emplace(inode);
    if (inserted) it->second.inode = inode;
    return it->second;
}

CgroupSample& SnapshotBuilder::cgroup(const std::string& path) {
    auto [it, inserted] = cgroups_.try_emplace(path);
    if (inserted) it->second.path = path;
    return it->second;
}

void SnapshotBuilder::add_drops(const std::string& kind, uint64_t count) {
    if (count == 0) return;
    drops_.by_kind[kind] += count;
    drops_.total += count;
}

Snapshot SnapshotBuilder::take() {
    Snapshot s;
    s.interval_ns = ctx_.interval_ns;
    s.end_monotonic_ns = ctx_.now_ns;
    s.system = std::move(system_);
    s.processes.reserve(processes_.size());
    for (auto& [_, p] : processes_) s.processes.push_back(std::move(p));
    process_index_.clear();
    for (auto& [_, d] : devices_) s.devices.push_back(std::move(d));
    for (auto& [_, c] : cpus_) s.cpus.push_back(std::move(c));
    for (auto& [_, n] : netns_) s.netns.push_back(std::move(n));
    for (auto& [_, c] : cgroups_) s.cgroups.push_back(std::move(c));
    s.filesystems = std::move(filesystems_);
    s.oom_kills = std::move(oom_kills_);
    s.drops = std::move(drops_);
    s.probes = std::move(probes_);
    return s;
}

}  // namespace perfbpf

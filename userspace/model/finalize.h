// Derived values of a Snapshot, computed once from its raw totals: CPU percentages,
// percentiles, per-cgroup and system aggregates. Pure; the Collector calls it last.
#pragma once

#include <optional>
#include <string>

#include "model/snapshot.h"

namespace perfbpf {

void finalize_snapshot(Snapshot& s);

// What `top --pid/--cgroup` keep: processes with this pid (or a descendant cgroup path).
struct SnapshotFilter {
    std::optional<int> pid;
    std::optional<std::string> cgroup;  // a path prefix on cgroup boundaries
    bool empty() const { return !pid && !cgroup; }
};
void apply_filter(Snapshot& s, const SnapshotFilter& f);

// True when `path` is `prefix` or below it ("/a" matches "/a" and "/a/b", not "/ab").
bool cgroup_within(const std::string& path, const std::string& prefix);

}  // namespace perfbpf

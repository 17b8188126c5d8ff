#include "collect/cgroup_source.h"

#include "util/files.h"

namespace perfbpf {

CgroupRoots CgroupSource::mounted_roots(const std::string& proc_root) {
    auto mounts = read_file(proc_root + "/self/mounts");
    return mounts ? cgroup_roots_from_mounts(*mounts) : CgroupRoots{};
}

void CgroupSource::collect(SnapshotBuilder& builder) {
    std::map<std::string, CgroupFiles> now;
    for (auto& [path, c] : builder.cgroups()) {
        CgroupFiles files = read_cgroup_files(roots_, c, files_);
        auto before = prev_.find(path);
        apply_cgroup_files(files, before == prev_.end() ? nullptr : &before->second,
                           builder.context().interval_ns, c);
        now.emplace(path, std::move(files));
    }
    // Cgroups without processes this interval are read again from scratch when they return.
    prev_ = std::move(now);
    files_.end_pass();
}

}  // namespace perfbpf

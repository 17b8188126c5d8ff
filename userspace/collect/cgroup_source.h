// Per-cgroup control files (pressure, memory) of every cgroup the interval's processes are
// in, read from the hierarchy each lives in (collect/parse/cgroup_files). Runs after the
// procfs source, which names the cgroups and their v1 paths.
#pragma once

#include <map>
#include <string>

#include "collect/parse/cgroup_files.h"
#include "collect/source.h"

namespace perfbpf {

class CgroupSource : public Source {
  public:
    explicit CgroupSource(CgroupRoots roots) : roots_(std::move(roots)) {}
    // The hierarchies mounted where `proc_root`/self/mounts says.
    static CgroupRoots mounted_roots(const std::string& proc_root);
    std::string_view name() const override { return "cgroupfs"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    CgroupRoots roots_;
    std::map<std::string, CgroupFiles> prev_;  // by CgroupSample::path
    // A cgroup's files are 3-6; the cap bounds the descriptors on hosts with hundreds of
    // busy cgroups (the rest are opened per read).
    KeptFiles files_{256};
};

}  // namespace perfbpf

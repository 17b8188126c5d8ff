// A cgroup's control files: pressure (cgroup v2) and memory (v2, else v1), read from the
// hierarchy each lives in. The mount points are parameters, so unit tests read fake trees
// under tests/fixtures/cgroups; collect/cgroup_source reads the real ones.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "model/snapshot.h"
#include "util/kept_files.h"

namespace perfbpf {

// Where the hierarchies are mounted ("" when not).
struct CgroupRoots {
    std::string v2;         // cgroup2
    std::string v1_cpu;     // the v1 hierarchy with the cpu controller
    std::string v1_memory;  // the v1 hierarchy with the memory controller
};
CgroupRoots cgroup_roots_from_mounts(const std::string& proc_self_mounts);

// What one read of a cgroup's files found: PSI totals and memory levels as read, memory
// event counters cumulative (turned into interval amounts by apply_cgroup_files).
struct CgroupFiles {
    Psi cpu, memory, io;
    std::string psi_unavailable;
    CgroupMemory mem;
};

// Reads the files of the cgroup `c` names (path, hierarchy, v1_memory_path): through `files`
// (kept open between intervals), or each opened and closed.
CgroupFiles read_cgroup_files(const CgroupRoots& roots, const CgroupSample& c, KeptFiles& files);
CgroupFiles read_cgroup_files(const CgroupRoots& roots, const CgroupSample& c);

// Fills `out` from `now`: levels as read, PSI interval shares and memory events as the
// growth since `before` (the previous read of the same cgroup; none: the first read, when
// events count 0 as for the system's counters).
void apply_cgroup_files(const CgroupFiles& now, const CgroupFiles* before, uint64_t interval_ns,
                        CgroupSample& out);

}  // namespace perfbpf

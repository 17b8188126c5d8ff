// Facts about the host that decide what perfbpf can do (shown by doctor and selftest).
#pragma once

#include <cstdint>
#include <string>

#include "collect/parse/mounts.h"
#include "util/privileges.h"

namespace perfbpf {

struct HostInfo {
    std::string kernel;   // uname -r
    std::string arch;     // uname -m
    bool btf = false;     // /sys/kernel/btf/vmlinux readable
    std::string tracefs;  // mount point, or "" when not mounted
    CgroupMode cgroup_mode = CgroupMode::none;
    std::string cgroup2_mount;  // where cgroup2 is mounted ("" if not)
    uint32_t pid_max = 0;
    uint64_t memlock_limit = 0;  // RLIMIT_MEMLOCK soft limit (RLIM_INFINITY as UINT64_MAX)
    bool psi = false;
    Privileges privileges;
};

// Reads the host; mounts_text/proc_root are parameters so tests can feed fixtures.
HostInfo read_host_info(const std::string& proc_root = "/proc");

}  // namespace perfbpf

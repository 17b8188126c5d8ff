// Facts about the host that decide what perfbpf can do (shown by doctor and selftest).
#pragma once

#include <cstdint>
#include <string>

#include "util/privileges.h"

namespace perfbpf {

enum class CgroupMode { v1, v2, hybrid, none };
const char* cgroup_mode_name(CgroupMode m);

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

// Mode and cgroup2 mount point from /proc/self/mounts text.
CgroupMode cgroup_mode_from_mounts(const std::string& mounts, std::string* cgroup2_mount);
// tracefs mount point from /proc/self/mounts text ("" when absent).
std::string tracefs_from_mounts(const std::string& mounts);

}  // namespace perfbpf

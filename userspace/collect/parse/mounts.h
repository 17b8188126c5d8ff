// What /proc/self/mounts says about cgroups and tracefs.
#pragma once

#include "util/enum_table.h"

#include <map>
#include <string>
#include <string_view>

namespace perfbpf {

enum class CgroupMode { v1, v2, hybrid, none };
inline constexpr auto kCgroupModeNames = enum_table<CgroupMode>(
    "cgroup mode", {{CgroupMode::v1, "v1"},
                    {CgroupMode::v2, "v2"},
                    {CgroupMode::hybrid, "hybrid (v1 controllers, v2 unified tree)"},
                    {CgroupMode::none, "none"}});
inline const char* cgroup_mode_name(CgroupMode m) {
    return kCgroupModeNames.name(m);
}

// Mode and cgroup2 mount point from /proc/self/mounts text.
CgroupMode cgroup_mode_from_mounts(const std::string& mounts, std::string* cgroup2_mount);
// v1 hierarchies by controller ("cpu" -> "/sys/fs/cgroup/cpu,cpuacct"), first mount of each.
std::map<std::string, std::string> cgroup_v1_mounts(const std::string& mounts);
// Mount point of the v1 hierarchy holding `controller` ("cpu", "memory"; "" when none).
// The option list must name it exactly ("cpu" is not "cpuacct" or "cpuset").
std::string cgroup_v1_mount(const std::string& mounts, std::string_view controller);
// tracefs mount point from /proc/self/mounts text ("" when absent).
std::string tracefs_from_mounts(const std::string& mounts);

}  // namespace perfbpf

#include "collect/parse/mounts.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

TEST(Mounts, HybridHost) {
    std::string m =
        "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
        "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
        "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
    std::string v2;
    EXPECT_EQ(cgroup_mode_from_mounts(m, &v2), CgroupMode::hybrid);
    EXPECT_EQ(v2, "/sys/fs/cgroup/unified");
    EXPECT_EQ(tracefs_from_mounts(m), "");
}

TEST(Mounts, PureV2WithTracefs) {
    std::string m =
        "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n"
        "tracefs /sys/kernel/tracing tracefs rw 0 0\n";
    std::string v2;
    EXPECT_EQ(cgroup_mode_from_mounts(m, &v2), CgroupMode::v2);
    EXPECT_EQ(v2, "/sys/fs/cgroup");
    EXPECT_EQ(tracefs_from_mounts(m), "/sys/kernel/tracing");
}

TEST(Mounts, V1ControllerMountsByExactName) {
    std::string m =
        "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
        "cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
        "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n"
        "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n";
    EXPECT_EQ(cgroup_v1_mount(m, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(cgroup_v1_mount(m, "memory"), "/sys/fs/cgroup/memory");
    EXPECT_EQ(cgroup_v1_mount(m, "blkio"), "");
    EXPECT_EQ(cgroup_v1_mount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", "memory"), "");
}

TEST(Mounts, V1OnlyAndNone) {
    EXPECT_EQ(cgroup_mode_from_mounts("cgroup /sys/fs/cgroup/memory cgroup rw 0 0\n", nullptr),
              CgroupMode::v1);
    EXPECT_EQ(cgroup_mode_from_mounts("proc /proc proc rw 0 0\n", nullptr), CgroupMode::none);
}

}  // namespace
}  // namespace perfbpf

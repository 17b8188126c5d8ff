#include "collect/parse/filter_targets.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace perfbpf {
namespace {

namespace fs = std::filesystem;

// A fake /proc with one process (pid 42) whose mounts put cgroup2 at <root>/cgroup.
class FilterTargets : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/perfbpf-filter-XXXXXX";
        root_ = mkdtemp(tmpl);
        fs::create_directories(root_ + "/proc/42");
        fs::create_directories(root_ + "/proc/self");
        fs::create_directories(root_ + "/cgroup/system.slice/cron.service");
        std::ofstream(root_ + "/proc/self/mounts")
            << "proc /proc proc rw 0 0\ncgroup2 " << root_ << "/cgroup cgroup2 rw 0 0\n";
    }
    void TearDown() override { fs::remove_all(root_); }
    Result<void> check(SnapshotFilter f) { return check_filter_targets(f, root_ + "/proc"); }

    std::string root_;
};

TEST_F(FilterTargets, ExistingPidAndCgroupPass) {
    EXPECT_TRUE(check({}));
    EXPECT_TRUE(check({42, std::nullopt}));
    EXPECT_TRUE(check({std::nullopt, "/system.slice"}));
    EXPECT_TRUE(check({42, "/system.slice/cron.service"}));
    EXPECT_TRUE(check({std::nullopt, "/"}));
}

TEST_F(FilterTargets, MissingPidNamesItAndTheErrno) {
    auto r = check({999999, std::nullopt});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no process 999999"), std::string::npos);
    EXPECT_NE(r.error().message.find("No such file or directory"), std::string::npos)
        << r.error().message;
}

TEST_F(FilterTargets, MissingCgroupNamesWhereItWasLookedFor) {
    auto r = check({std::nullopt, "/nonexistent"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no cgroup /nonexistent"), std::string::npos);
    EXPECT_NE(r.error().message.find(root_ + "/cgroup"), std::string::npos) << r.error().message;
}

TEST_F(FilterTargets, NoCgroupMountIsAnError) {
    std::ofstream(root_ + "/proc/self/mounts") << "proc /proc proc rw 0 0\n";
    auto r = check({std::nullopt, "/system.slice"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no cgroup filesystem"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf

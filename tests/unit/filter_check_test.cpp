// check_filter: objects named on the tune command line must exist; cgroups may be given as
// filesystem paths, on cgroup v2 and v1 alike.
#include "tune/filter_check.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.h"

namespace perfbpf::tune {
namespace {

const std::string kFixtures = PERFBPF_FIXTURES_DIR;

struct FilterCheck : ::testing::Test {
    FilterCheck() {
        roots.sys = kFixtures + "/sys";
        roots.netns_dir = netns.path();
        roots.cgroup2 = kFixtures + "/cgroups/v2";
        roots.cgroup1 = {{"cpu", kFixtures + "/cgroups/v1/cpu"},
                         {"memory", kFixtures + "/cgroups/v1/memory"}};
        std::ofstream(netns.path() + "/blue");
    }
    std::string error_of(ScopeFilter f) {
        auto r = check_filter(f, roots);
        return r ? "" : r.error().message;
    }
    test::TempDir netns;
    KnobRoots roots;
};

TEST_F(FilterCheck, ExistingObjectsPass) {
    ScopeFilter f;
    f.devices = {"sda", "loop0"};
    f.netns = {"blue"};
    f.pids = {std::to_string(::getpid())};
    f.cgroups = {"/app.slice/web.service", "/batch/job"};
    auto r = check_filter(f, roots);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->cgroups, f.cgroups);
    EXPECT_EQ(r->devices, f.devices);
}

TEST_F(FilterCheck, MissingObjectsAreNamed) {
    ScopeFilter dev;
    dev.devices = {"sda", "nosuchdev"};
    EXPECT_EQ(error_of(dev), "no block device 'nosuchdev' (not in " + roots.sys + "/class/block)");
    dev.devices = {"../block"};
    EXPECT_NE(error_of(dev), "");
    ScopeFilter ns;
    ns.netns = {"nosuch"};
    EXPECT_EQ(error_of(ns), "no network namespace 'nosuch' (not in " + netns.path() + ")");
    ScopeFilter cg;
    cg.cgroups = {"/no/such"};
    EXPECT_EQ(error_of(cg),
              "no cgroup '/no/such' (not in " + roots.cgroup2 + " or the other hierarchies)");
    cg.cgroups = {"batch"};
    EXPECT_NE(error_of(cg).find("not an absolute cgroup path"), std::string::npos);
    cg.cgroups = {"/app.slice/../../.."};
    EXPECT_NE(error_of(cg).find("not an absolute cgroup path"), std::string::npos);
}

TEST_F(FilterCheck, ObjectsTheJournalHasAreAcceptedWhenGone) {
    ScopeFilter f;
    f.devices = {"loop9"};
    f.netns = {"red"};
    f.pids = {"4194304"};
    f.cgroups = {roots.cgroup2 + "/gone"};
    EXPECT_NE(error_of(f), "");
    auto r = check_filter(
        f, roots,
        {Scope::device("loop9"), Scope::netns("red"), Scope::pid(4194304), Scope::cgroup("/gone")});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->cgroups, std::vector<std::string>{"/gone"});
}

TEST_F(FilterCheck, PidsMustBeLiveProcessIds) {
    for (const char* bad : {"abc", "-5", "0", "12x", ""}) {
        ScopeFilter f;
        f.pids = {bad};
        EXPECT_EQ(error_of(f), std::string("--pid '") + bad + "' is not a process id");
    }
    std::ifstream max_in("/proc/sys/kernel/pid_max");
    long pid_max = 0;
    max_in >> pid_max;
    ASSERT_GT(pid_max, 0);
    ScopeFilter f;
    f.pids = {std::to_string(pid_max)};  // pids stay below pid_max
    EXPECT_EQ(error_of(f), "no process " + std::to_string(pid_max));
}

TEST_F(FilterCheck, CgroupFilesystemPathsAreTheSameAsHierarchyPaths) {
    for (const std::string& given :
         {roots.cgroup2 + "/app.slice/web.service", roots.cgroup2 + "/app.slice/web.service/"}) {
        ScopeFilter f;
        f.cgroups = {given};
        auto r = check_filter(f, roots);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->cgroups, std::vector<std::string>{"/app.slice/web.service"});
    }
    ScopeFilter v1;  // a v1 controller's mount sits below the v2 one here, as on hybrid hosts
    v1.cgroups = {kFixtures + "/cgroups/v1/memory/batch/job"};
    auto r = check_filter(v1, roots);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->cgroups, std::vector<std::string>{"/batch/job"});
}

}  // namespace
}  // namespace perfbpf::tune

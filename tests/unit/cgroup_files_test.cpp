// Per-cgroup pressure and memory from fake v2 and v1 trees (tests/fixtures/cgroups), and
// their interval amounts.
#include "collect/parse/cgroup_files.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

const std::string kTrees = std::string(PERFBPF_FIXTURES_DIR) + "/cgroups";

CgroupRoots fixture_roots() {
    return CgroupRoots{kTrees + "/v2", kTrees + "/v1/cpu", kTrees + "/v1/memory"};
}

CgroupSample where(const std::string& path, const std::string& hierarchy,
                   const std::string& v1_memory = "") {
    CgroupSample c;
    c.path = path;
    c.hierarchy = hierarchy;
    c.v1_memory_path = v1_memory;
    return c;
}

TEST(CgroupRootsFromMounts, HybridAndPureV2) {
    CgroupRoots h = cgroup_roots_from_mounts(
        "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
        "cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
        "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
        "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n");
    EXPECT_EQ(h.v2, "/sys/fs/cgroup/unified");
    EXPECT_EQ(h.v1_cpu, "/sys/fs/cgroup/cpu");
    EXPECT_EQ(h.v1_memory, "/sys/fs/cgroup/memory");
    CgroupRoots v2 = cgroup_roots_from_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
    EXPECT_EQ(v2.v2, "/sys/fs/cgroup");
    EXPECT_EQ(v2.v1_cpu, "");
    EXPECT_EQ(v2.v1_memory, "");
}

TEST(CgroupFiles, V2GroupWithTheMemoryController) {
    CgroupFiles f = read_cgroup_files(fixture_roots(), where("/app.slice/web.service", "v2"));
    ASSERT_TRUE(f.cpu.available) << f.psi_unavailable;
    EXPECT_DOUBLE_EQ(f.cpu.some.avg10, 12.5);
    EXPECT_EQ(f.cpu.some.total_us, 4000000u);
    ASSERT_TRUE(f.memory.full);
    EXPECT_EQ(f.memory.full->total_us, 120000u);
    EXPECT_TRUE(f.io.available);
    EXPECT_EQ(f.psi_unavailable, "");
    const CgroupMemory& m = f.mem;
    EXPECT_EQ(m.source, "v2");
    EXPECT_EQ(m.current_bytes, 734003200u);
    EXPECT_EQ(m.high_bytes, 805306368u);
    EXPECT_EQ(m.max_bytes, std::nullopt);  // "max"
    EXPECT_EQ(m.anon_bytes, 419430400u);
    EXPECT_EQ(m.file_bytes, 293601280u);
    EXPECT_EQ(m.inactive_anon_bytes, 314572800u);
    EXPECT_EQ(m.active_file_bytes, 83886080u);
    EXPECT_EQ(m.inactive_file_bytes, 209715200u);
    EXPECT_EQ(m.workingset_refault_file, 3400u);
    EXPECT_EQ(m.pgscan, 56000u);
    EXPECT_EQ(m.pgsteal, 51000u);
    EXPECT_EQ(m.pgmajfault, 420u);
    EXPECT_EQ(m.high_events, 1532u);  // memory.events, cumulative as read
}

TEST(CgroupFiles, V2GroupWithoutTheMemoryControllerSaysWhy) {
    CgroupFiles f = read_cgroup_files(fixture_roots(), where("/user.slice/nomem", "v2"));
    EXPECT_TRUE(f.cpu.available);
    EXPECT_EQ(f.mem.source, "");
    EXPECT_NE(f.mem.unavailable.find("memory controller"), std::string::npos) << f.mem.unavailable;
}

TEST(CgroupFiles, V2GroupFallsBackToTheV1MemoryHierarchy) {
    // Hybrid: the processes' v2 group has no memory files, their v1 memory group does.
    CgroupFiles f =
        read_cgroup_files(fixture_roots(), where("/user.slice/nomem", "v2", "/batch/job"));
    EXPECT_EQ(f.mem.source, "v1");
    EXPECT_EQ(f.mem.current_bytes, 268435456u);
}

TEST(CgroupFiles, V1PathHasMemoryButNoPressure) {
    CgroupFiles f = read_cgroup_files(fixture_roots(), where("/batch/job", "memory", "/batch/job"));
    EXPECT_FALSE(f.cpu.available);
    EXPECT_NE(f.psi_unavailable.find("needs cgroup v2"), std::string::npos) << f.psi_unavailable;
    const CgroupMemory& m = f.mem;
    EXPECT_EQ(m.source, "v1");
    EXPECT_EQ(m.current_bytes, 268435456u);
    EXPECT_EQ(m.max_bytes, 536870912u);
    EXPECT_EQ(m.high_bytes, std::nullopt);  // v1 has none
    // Hierarchical totals, as v2's memory.stat is hierarchical.
    EXPECT_EQ(m.anon_bytes, 150994944u);
    EXPECT_EQ(m.file_bytes, 100663296u);
    EXPECT_EQ(m.inactive_anon_bytes, 134217728u);
    EXPECT_EQ(m.workingset_refault_file, 77u);
    EXPECT_EQ(m.pgmajfault, 95u);
    EXPECT_EQ(m.pgscan, std::nullopt);  // v1 does not count scans per cgroup
    EXPECT_EQ(m.pgsteal, std::nullopt);
    EXPECT_EQ(m.high_events, std::nullopt);  // v1 has no memory.high
}

TEST(CgroupFiles, NoHierarchyMounted) {
    CgroupFiles f = read_cgroup_files(CgroupRoots{}, where("/x", "v2"));
    EXPECT_EQ(f.psi_unavailable, "cgroup2 is not mounted");
    EXPECT_FALSE(f.mem.unavailable.empty());
    CgroupFiles missing =
        read_cgroup_files(fixture_roots(), where("/no/such/group", "v2"));  // gone meanwhile
    EXPECT_FALSE(missing.cpu.available);
    EXPECT_NE(missing.psi_unavailable.find("cpu.pressure"), std::string::npos);
}

TEST(CgroupFiles, EventsAndPressureSharesAreIntervalAmounts) {
    CgroupFiles before = read_cgroup_files(fixture_roots(), where("/app.slice/web.service", "v2"));
    CgroupFiles now = before;
    now.cpu.some.total_us += 250'000;  // a quarter of a 1 s interval stalled
    now.mem.pgscan = *now.mem.pgscan + 1000;
    now.mem.workingset_refault_file = *now.mem.workingset_refault_file + 40;
    now.mem.pgmajfault += 7;
    now.mem.high_events = *now.mem.high_events + 12;
    now.mem.current_bytes = 700u << 20;

    CgroupSample first;
    apply_cgroup_files(before, nullptr, 1'000'000'000, first);
    EXPECT_EQ(first.memory.pgscan, 0u);  // a first read only sets the baseline
    EXPECT_EQ(first.memory.pgmajfault, 0u);
    EXPECT_EQ(first.memory.high_events, 0u);
    EXPECT_EQ(first.memory.current_bytes, 734003200u);

    CgroupSample c;
    apply_cgroup_files(now, &before, 1'000'000'000, c);
    EXPECT_DOUBLE_EQ(c.psi_cpu.some.interval_pct, 25.0);
    EXPECT_EQ(c.memory.pgscan, 1000u);
    EXPECT_EQ(c.memory.pgsteal, 0u);
    EXPECT_EQ(c.memory.workingset_refault_file, 40u);
    EXPECT_EQ(c.memory.pgmajfault, 7u);
    EXPECT_EQ(c.memory.high_events, 12u);
    EXPECT_EQ(c.memory.current_bytes, 700u << 20);  // levels as read
    EXPECT_EQ(c.memory.high_bytes, 805306368u);

    // v1 has no pgscan: it stays unknown rather than 0.
    CgroupFiles v1 =
        read_cgroup_files(fixture_roots(), where("/batch/job", "memory", "/batch/job"));
    CgroupSample c1;
    apply_cgroup_files(v1, &v1, 1'000'000'000, c1);
    EXPECT_EQ(c1.memory.pgscan, std::nullopt);
    EXPECT_EQ(c1.memory.workingset_refault_file, 0u);
}

}  // namespace
}  // namespace perfbpf

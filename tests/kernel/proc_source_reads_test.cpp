// Which /proc/PID/stat files ProcSource reads, on a fake /proc (no root needed): with the
// sched and mem families active, only processes that ran, that are new, or whose parent
// exited, and all of them on a full scan.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "collect/proc_source.h"
#include "support.h"

namespace perfbpf {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ULL;
constexpr uint32_t kKworker = 0x4208060;  // a kworker's stat flags (PF_KTHREAD among them)

struct FakeProc {
    FakeProc() { write(1, "init", 0, 0, 1); }  // the parent of the orphans below
    test::TempDir dir;
    void write(int pid, const std::string& comm, int ppid, uint64_t minflt, int threads,
               char state = 'S', uint32_t flags = 4194560) {
        std::filesystem::create_directories(dir.path() + "/" + std::to_string(pid));
        std::ofstream(dir.path() + "/" + std::to_string(pid) + "/stat")
            << pid << " (" << comm << ") " << state << " " << ppid << " 1 1 0 -1 " << flags << " "
            << minflt << " 0 0 0 10 5 0 0 20 0 " << threads << " 0 " << 1000 + pid
            << " 12345678 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    }
    void remove(int pid) { std::filesystem::remove_all(dir.path() + "/" + std::to_string(pid)); }
    void cgroup(int pid, const std::string& v2_path) {
        std::ofstream(dir.path() + "/" + std::to_string(pid) + "/cgroup")
            << "0::" << v2_path << "\n";
    }
};

// One scan at `now_ns`; `ran` are the pids the sched family saw run, `exited` those whose
// exit the ring reported.
std::map<int, ProcessSample> scan(ProcSource& source, uint64_t now_ns,
                                  std::initializer_list<int> ran = {},
                                  std::initializer_list<int> exited = {}) {
    CollectContext ctx;
    ctx.now_ns = now_ns;
    for (int pid : exited) ctx.exited[pid] = ExitedProcess{};
    SnapshotBuilder builder(ctx);
    for (int pid : ran) builder.process(pid).oncpu_ns = 1'000'000;
    source.collect(builder);
    return builder.processes();
}

TEST(ProcSourceReads, ProcessThatDidNotRunKeepsItsLastReadUntilAFullScan) {
    FakeProc proc;
    proc.write(100, "busy", 1, 10, 1);
    proc.write(101, "idle", 1, 20, 1);
    ProcSource source(proc.dir.path(), false, false);
    scan(source, 1 * kSecond);

    proc.write(100, "busy", 1, 17, 2);
    proc.write(101, "renamed", 1, 70, 1);  // changed by someone else: not seen yet
    auto second = scan(source, 1 * kSecond + kSecond / 10, {100});
    EXPECT_EQ(second.at(100).minor_faults, 7u);
    EXPECT_EQ(second.at(100).threads, 2);
    EXPECT_EQ(second.at(101).minor_faults, 0u);
    EXPECT_EQ(second.at(101).comm, "idle");
    EXPECT_EQ(second.at(101).start_time_ticks, 1101u);

    // 100 ran in the previous interval: read once more, for what it did after its last
    // flush to the family's map.
    proc.write(100, "busy", 1, 19, 2);
    auto third = scan(source, 1 * kSecond + 2 * kSecond / 10);
    EXPECT_EQ(third.at(100).minor_faults, 2u);
    proc.write(100, "busy", 1, 25, 2);
    auto fourth = scan(source, 1 * kSecond + 3 * kSecond / 10);
    EXPECT_EQ(fourth.at(100).minor_faults, 0u);

    // Ten seconds after the last full scan: everything is read again.
    auto full = scan(source, 11 * kSecond + kSecond / 2);
    EXPECT_EQ(full.at(100).minor_faults, 6u);
    EXPECT_EQ(full.at(101).minor_faults, 50u);
    EXPECT_EQ(full.at(101).comm, "renamed");
}

// A launcher forks, then moves its child into another cgroup (systemd-run, a container
// runtime, the cpu-share tests): read once, the child stayed in the launcher's cgroup for
// good, and `tune --plan` found no starved cgroup one run in four.
TEST(ProcSourceReads, AProcessMovedToAnotherCgroupIsSeenThere) {
    FakeProc proc;
    proc.write(300, "young", 1, 0, 1);
    proc.cgroup(300, "/launcher");
    proc.write(301, "old", 1, 0, 1);
    proc.cgroup(301, "/before");
    ProcSource source(proc.dir.path(), false, false);
    uint64_t t = 1 * kSecond;
    EXPECT_EQ(scan(source, t).at(300).cgroup, "/launcher");
    proc.cgroup(300, "/service");
    EXPECT_EQ(scan(source, t += kSecond / 10, {300}).at(300).cgroup, "/service");
    // Past its first scans a process is read again only every 10 s, whether it ran or not.
    for (int i = 0; i < 6; ++i) scan(source, t += kSecond / 10, {301});
    proc.cgroup(301, "/after");
    EXPECT_EQ(scan(source, t += kSecond / 10, {301}).at(301).cgroup, "/before");
    EXPECT_EQ(scan(source, t += kSecond / 10).at(301).cgroup, "/before");
    EXPECT_EQ(scan(source, 12 * kSecond).at(301).cgroup, "/after");
}

// A v1 cgroup forgets a task at its exit: the zombie's /proc/PID/cgroup says "/" while its
// last interval's CPU is still to be counted, and that belongs to the cgroup it ran in.
TEST(ProcSourceReads, AZombieKeepsTheCgroupItRanIn) {
    FakeProc proc;
    proc.write(400, "hog", 1, 0, 1);
    proc.cgroup(400, "/hog");
    ProcSource source(proc.dir.path(), false, false);
    uint64_t t = 1 * kSecond;
    EXPECT_EQ(scan(source, t).at(400).cgroup, "/hog");
    proc.write(400, "hog", 1, 0, 1, 'Z');
    proc.cgroup(400, "/");
    EXPECT_EQ(scan(source, t += kSecond / 10, {400}).at(400).cgroup, "/hog");
    // A live process moved to the root is still seen there.
    proc.write(400, "hog", 1, 0, 1);
    EXPECT_EQ(scan(source, t += kSecond / 10, {400}).at(400).cgroup, "/");
}

TEST(ProcSourceReads, NewAndReparentedProcessesAreRead) {
    FakeProc proc;
    proc.write(200, "parent", 1, 0, 1);
    proc.write(201, "child", 200, 0, 1);
    ProcSource source(proc.dir.path(), false, false);
    scan(source, 1 * kSecond);

    proc.remove(200);
    proc.write(201, "child", 1, 0, 1);
    proc.write(202, "newborn", 1, 40, 1);
    // Between listings of /proc: the newborn is known from the sched family, the parent's
    // exit from the ring.
    auto second = scan(source, 1 * kSecond + kSecond / 10, {202}, {200});
    EXPECT_EQ(second.at(201).ppid, 1);
    ASSERT_TRUE(second.contains(202));
    EXPECT_EQ(second.at(202).comm, "newborn");
    EXPECT_EQ(second.at(202).minor_faults, 40u);  // started within the interval
    EXPECT_FALSE(second.contains(200));
}

// With both families active /proc is listed at full scans only (10 s apart); in between,
// what no family reported is not seen, and a read that fails drops the process.
TEST(ProcSourceReads, WhatNoFamilyReportedIsSeenAtTheNextFullScan) {
    FakeProc proc;
    proc.write(400, "old", 1, 0, 1);
    proc.write(401, "quiet", 1, 0, 1);
    ProcSource source(proc.dir.path(), false, false);
    uint64_t t = 1 * kSecond;
    scan(source, t);
    proc.write(402, "unreported", 1, 5, 1);
    proc.remove(401);
    auto between = scan(source, t += kSecond / 10, {401});
    EXPECT_FALSE(between.contains(402));
    EXPECT_EQ(between.at(401).comm, "quiet");  // exited: named from what was read before
    EXPECT_TRUE(between.contains(400));
    // A second later, at a 1 s interval: still not listed.
    auto unlisted = scan(source, t += kSecond);
    EXPECT_FALSE(unlisted.contains(402));
    EXPECT_FALSE(unlisted.contains(401));
    EXPECT_TRUE(unlisted.contains(400));
    auto listed = scan(source, t = 1 * kSecond + 10 * kSecond);
    ASSERT_TRUE(listed.contains(402));
    EXPECT_EQ(listed.at(402).comm, "unreported");
    EXPECT_FALSE(listed.contains(401));
}

// A kernel thread that runs every interval is read at first sight and at full scans only;
// once its exit is reported its pid is read again (it may be a new process's by then).
TEST(ProcSourceReads, KernelThreadsThatRunAreNotReread) {
    FakeProc proc;
    proc.write(2, "kthreadd", 0, 0, 1, 'S', kKworker);
    proc.write(57, "kworker/0:1-events", 2, 0, 1, 'I', kKworker);
    proc.write(58, "user", 1, 0, 1);
    proc.cgroup(57, "/");
    ProcSource source(proc.dir.path(), false, false);
    uint64_t t = 1 * kSecond;
    scan(source, t);

    proc.write(57, "kworker/0:1-mm_percpu_wq", 2, 0, 1, 'I', kKworker);
    proc.cgroup(57, "/moved");  // not followed for a kernel thread
    proc.write(58, "user-renamed", 1, 3, 1);
    auto ran = scan(source, t += kSecond, {57, 58});
    EXPECT_EQ(ran.at(57).comm, "kworker/0:1-events");
    EXPECT_EQ(ran.at(57).cgroup, "/");
    EXPECT_EQ(ran.at(58).comm, "user-renamed");  // a process that ran is read
    EXPECT_EQ(ran.at(58).minor_faults, 3u);

    proc.write(57, "reused", 1, 9, 1);  // the kworker exited, its pid reused
    auto exited = scan(source, t += kSecond, {57}, {57});
    EXPECT_EQ(exited.at(57).comm, "reused");
    EXPECT_EQ(exited.at(57).ppid, 1);
}

// A full scan reads kernel threads too: a kworker's comm follows its work within one.
TEST(ProcSourceReads, FullScanRefreshesAKernelThreadsComm) {
    FakeProc proc;
    proc.write(57, "kworker/0:1-events", 2, 0, 1, 'I', kKworker);
    ProcSource source(proc.dir.path(), false, false);
    uint64_t t = 1 * kSecond;
    scan(source, t);
    proc.write(57, "kworker/0:1-mm_percpu_wq", 2, 0, 1, 'I', kKworker);
    EXPECT_EQ(scan(source, t += kSecond, {57}).at(57).comm, "kworker/0:1-events");
    EXPECT_EQ(scan(source, t += 10 * kSecond, {57}).at(57).comm, "kworker/0:1-mm_percpu_wq");
}

TEST(ProcSourceReads, EveryProcessIsReadWhenAFamilyIsMissing) {
    FakeProc proc;
    proc.write(300, "idle", 1, 10, 1);
    ProcSource source(proc.dir.path(), true, false);  // no sched family: CPU from /proc
    scan(source, 1 * kSecond);
    proc.write(300, "idle", 1, 15, 1);
    EXPECT_EQ(scan(source, 1 * kSecond + kSecond / 10).at(300).minor_faults, 5u);

    source.set_fills(false, true);  // no mem family: RSS from /proc, which reclaim changes
    proc.write(300, "idle", 1, 18, 1);
    EXPECT_EQ(scan(source, 1 * kSecond + 2 * kSecond / 10).at(300).minor_faults, 3u);
}

}  // namespace
}  // namespace perfbpf

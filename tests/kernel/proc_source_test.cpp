// ProcSource on the real /proc: the identity it gives each process (no root needed).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "collect/proc_source.h"
#include "util/files.h"

namespace perfbpf {
namespace {

uint64_t start_ticks_of(int pid) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return 0;
    auto st = parse_pid_stat(*text);
    return st ? st->starttime_ticks : 0;
}

TEST(ProcSource, StartTimeTicksOfRunningAndExitedProcesses) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    const uint64_t child_start = start_ticks_of(child);
    ASSERT_GT(child_start, 0u);

    ProcSource source("/proc", true, true);
    CollectContext ctx;
    SnapshotBuilder first(ctx);
    source.collect(first);
    ASSERT_TRUE(first.processes().contains(::getpid()));
    EXPECT_EQ(first.processes().at(::getpid()).start_time_ticks, start_ticks_of(::getpid()));
    ASSERT_TRUE(first.processes().contains(child));
    EXPECT_EQ(first.processes().at(child).start_time_ticks, child_start);

    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    // A probe reported the child in the next interval; /proc no longer has it, so its
    // identity comes from what the previous scan remembered.
    SnapshotBuilder second(ctx);
    second.process(child);
    source.collect(second);
    EXPECT_EQ(second.processes().at(child).start_time_ticks, child_start);
}

}  // namespace
}  // namespace perfbpf

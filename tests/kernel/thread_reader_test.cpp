// top's `H`: the threads of a live process from /proc/PID/task, as collect/thread_reader.h
// reads them (no probes: root is not needed).
#include "collect/thread_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "support.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;

std::set<int> task_ids(int pid) {
    std::set<int> out;
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
        out.insert(std::stoi(e.path().filename().string()));
    return out;
}

TEST(ThreadReader, ReadsEveryThreadAndItsCpuSinceTheLastReading) {
    // Three threads that each spin 5 ms of every 10 ms: about a third of a CPU each.
    Child crowd = Child::spawn({fixture("thread_crowd"), "3", "10", "5000", "120"});
    ASSERT_GT(crowd.pid(), 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (task_ids(crowd.pid()).size() < 4 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::set<int> tids = task_ids(crowd.pid());
    ASSERT_EQ(tids.size(), 4u);

    ThreadReader reader;
    auto first = reader.read(crowd.pid());
    ASSERT_TRUE(first) << first.error().message;
    std::set<int> seen;
    for (const auto& t : *first) {
        seen.insert(t.tid);
        EXPECT_FALSE(t.measured) << t.tid;  // one reading says nothing about a share
        EXPECT_EQ(t.comm, "thread_crowd");
    }
    EXPECT_EQ(seen, tids);

    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    auto second = reader.read(crowd.pid());
    ASSERT_TRUE(second) << second.error().message;
    ASSERT_EQ(second->size(), 4u);
    int spinning = 0;
    for (const auto& t : *second) {
        EXPECT_TRUE(t.measured) << t.tid;
        EXPECT_LE(t.cpu_pct, 105) << t.tid;  // one thread, at most one CPU
        if (t.tid != crowd.pid() && t.oncpu_ns > 0 && t.cpu_pct > 0) ++spinning;
    }
    // Each spinner ran in 0.8 s even on a loaded machine (80 wakeups of 5 ms work).
    EXPECT_EQ(spinning, 3);
    EXPECT_LT((*second)[0].cpu_pct, 20);  // the main thread only waits for them
}

TEST(ThreadReader, AGoneProcessIsAnErrorNamingThePath) {
    ThreadReader reader;
    auto r = reader.read(4'000'000);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("/proc/4000000/task"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace perfbpf

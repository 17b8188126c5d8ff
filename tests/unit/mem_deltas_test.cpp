// The mem family's delta logic on recorded slot values and exit records.
#include <gtest/gtest.h>

#include <cstring>

#include "collect/parse/mem_deltas.h"

namespace perfbpf {
namespace {

constexpr uint64_t kPage = 4096;

using Live = std::vector<std::pair<uint32_t, mem_rss_slot>>;

mem_exit exit_record(uint32_t tgid, uint32_t rss, uint32_t peak, uint64_t minflt, uint64_t majflt) {
    mem_exit e{};
    e.tgid = tgid;
    e.rss_pages = rss;
    e.peak_pages = peak;
    e.minflt = minflt;
    e.majflt = majflt;
    e.exit_code = 9;  // killed by SIGKILL, as the kernel encodes it
    std::strncpy(e.comm, "toucher", sizeof(e.comm));
    return e;
}

// One read, the way the reader does it at the end of an interval.
Snapshot read(MemDeltas& d, const Live& live, const std::vector<mem_exit>& exits,
              CollectContext& ctx, std::map<int, SnapshotBuilder::FaultTotals>* faults = nullptr) {
    SnapshotBuilder b(ctx);
    d.apply(live, exits, b);
    if (faults) {
        for (const auto& e : exits)
            if (auto* f = b.exit_fault_totals(static_cast<int>(e.tgid))) (*faults)[e.tgid] = *f;
    }
    return b.take();
}

const ProcessSample* find(const Snapshot& s, int pid) {
    for (const auto& p : s.processes)
        if (p.pid == pid) return &p;
    return nullptr;
}

TEST(MemDeltas, GrowthIsTheChangeSinceThePreviousRead) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{100, {1000, 1000}}}, {}, ctx);
    Snapshot s = read(d, {{100, {1000 + 65536, 1000 + 65536}}}, {}, ctx);
    const ProcessSample* p = find(s, 100);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rss_bytes, (1000 + 65536) * kPage);
    EXPECT_EQ(p->rss_growth_bytes, 65536 * static_cast<int64_t>(kPage));
    s = read(d, {{100, {1000, 1000 + 65536}}}, {}, ctx);
    p = find(s, 100);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rss_growth_bytes, -65536 * static_cast<int64_t>(kPage));
    EXPECT_EQ(p->rss_bytes, 1000 * kPage);
}

TEST(MemDeltas, PeakWithinTheIntervalComesFromTheSlot) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{7, {500, 500}}}, {}, ctx);
    // Grew to 9000 pages and fell back to 600 within the interval.
    Snapshot s = read(d, {{7, {600, 9000}}}, {}, ctx);
    const ProcessSample* p = find(s, 7);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rss_peak_bytes, 9000 * kPage);
    EXPECT_EQ(p->rss_growth_bytes, 100 * static_cast<int64_t>(kPage));
}

TEST(MemDeltas, NewProcessGainedAllItHas) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{1, {10, 10}}}, {}, ctx);
    Snapshot s = read(d, {{1, {10, 10}}, {2, {3000, 3000}}}, {}, ctx);
    const ProcessSample* p = find(s, 2);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rss_growth_bytes, 3000 * static_cast<int64_t>(kPage));
    EXPECT_EQ(find(s, 1)->rss_growth_bytes, 0);
}

TEST(MemDeltas, ExitedProcessHoldsNothingAndKeepsItsPeakAndFaults) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{42, {2000, 2000}}}, {}, ctx);
    std::map<int, SnapshotBuilder::FaultTotals> faults;
    Snapshot s = read(d, {}, {exit_record(42, 5000, 8000, 12345, 6)}, ctx, &faults);
    const ProcessSample* p = find(s, 42);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->exited);
    EXPECT_EQ(p->exit_code, 9);
    EXPECT_EQ(p->comm, "toucher");
    EXPECT_EQ(p->rss_bytes, 0u);
    EXPECT_EQ(p->rss_growth_bytes, -2000 * static_cast<int64_t>(kPage));
    EXPECT_EQ(p->rss_peak_bytes, 8000 * kPage);
    ASSERT_TRUE(faults.contains(42));
    EXPECT_EQ(faults[42].minor, 12345u);
    EXPECT_EQ(faults[42].major, 6u);
    // Gone afterwards.
    s = read(d, {}, {}, ctx);
    EXPECT_FALSE(find(s, 42));
}

TEST(MemDeltas, ShortLivedProcessShowsOnlyItsPeak) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {}, {}, ctx);
    Snapshot s = read(d, {}, {exit_record(9, 65000, 65536, 65600, 0)}, ctx);
    const ProcessSample* p = find(s, 9);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rss_bytes, 0u);
    EXPECT_EQ(p->rss_growth_bytes, 0);
    EXPECT_EQ(p->rss_peak_bytes, 65536 * kPage);
}

TEST(MemDeltas, ExitRecordOneReadLateStillUsesTheLastLevel) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{5, {700, 700}}}, {}, ctx);
    // Exited between reading the exit records and reading the slots: in neither list.
    Snapshot s = read(d, {}, {}, ctx);
    EXPECT_FALSE(find(s, 5));
    s = read(d, {}, {exit_record(5, 700, 700, 10, 0)}, ctx);
    const ProcessSample* p = find(s, 5);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->rss_growth_bytes, -700 * static_cast<int64_t>(kPage));
}

TEST(MemDeltas, ForgetsProcessesAbsentForSeveralReads) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{5, {700, 700}}}, {}, ctx);
    for (int i = 0; i < 5; ++i) read(d, {}, {}, ctx);
    // Its exit record never came; a new process with the same tgid starts from zero.
    Snapshot s = read(d, {{5, {100, 100}}}, {}, ctx);
    EXPECT_EQ(find(s, 5)->rss_growth_bytes, 100 * static_cast<int64_t>(kPage));
}

TEST(MemDeltas, ReusedTgidIsReportedAsTheNewProcess) {
    MemDeltas d(kPage);
    CollectContext ctx;
    read(d, {{77, {4000, 4000}}}, {}, ctx);
    std::map<int, SnapshotBuilder::FaultTotals> faults;
    Snapshot s = read(d, {{77, {300, 300}}}, {exit_record(77, 4000, 4000, 50, 1)}, ctx, &faults);
    const ProcessSample* p = find(s, 77);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->exited);
    EXPECT_EQ(p->rss_bytes, 300 * kPage);
    EXPECT_EQ(p->rss_growth_bytes, 300 * static_cast<int64_t>(kPage));
    EXPECT_FALSE(faults.contains(77));
}

}  // namespace
}  // namespace perfbpf

#include "model/series_restore.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/series_extract.h"
#include "sinks/snapshot_record.h"

namespace perfbpf {
namespace {

std::vector<SeriesSample> sorted(std::vector<SeriesSample> v) {
    std::sort(v.begin(), v.end(),
              [](const SeriesSample& a, const SeriesSample& b) { return a.key < b.key; });
    return v;
}

// Every series of a recorded interval comes back from the Snapshot rebuilt out of them.
TEST(SeriesRestore, RecordedIntervalsRoundTripThroughSeries) {
    auto recorded =
        read_recording(std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(recorded) << recorded.error().message;
    SeriesPolicy keep_all;
    keep_all.top_processes = 100000;
    for (const Snapshot& s : *recorded) {
        auto series = sorted(snapshot_series(s, keep_all));
        ASSERT_GT(series.size(), 100u);
        Snapshot back = snapshot_from_series(series, s.interval_ns, s.end_unix_ms);
        EXPECT_EQ(back.interval_ns, s.interval_ns);
        EXPECT_EQ(back.processes.size(), s.processes.size());
        EXPECT_EQ(back.cgroups.size(), s.cgroups.size());
        EXPECT_EQ(back.devices.size(), s.devices.size());
        EXPECT_EQ(back.cpus.size(), s.cpus.size());
        auto again = sorted(snapshot_series(back, keep_all));
        ASSERT_EQ(again.size(), series.size());
        for (size_t i = 0; i < series.size(); ++i) {
            EXPECT_EQ(again[i].key, series[i].key);
            EXPECT_EQ(again[i].kind, series[i].kind) << series[i].key.metric;
            EXPECT_DOUBLE_EQ(again[i].value, series[i].value) << series[i].key.metric;
            EXPECT_EQ(again[i].hist, series[i].hist) << series[i].key.metric;
        }
    }
}

TEST(SeriesRestore, MapFieldsAndPsiPresence) {
    Snapshot s;
    s.system.packet_drops = {{"NO_SOCKET", 3}, {"TCP_CSUM", 1}};
    s.system.psi_cpu.available = true;
    s.system.psi_cpu.some.avg10 = 4.5;
    s.system.loadavg[2] = 1.25;
    CgroupSample c;
    c.path = "/a";
    c.cpu_pct = 50;
    s.cgroups.push_back(c);
    Snapshot back = snapshot_from_series(snapshot_series(s), 1'000'000'000, 5);
    EXPECT_EQ(back.system.packet_drops, s.system.packet_drops);
    EXPECT_TRUE(back.system.psi_cpu.available);
    EXPECT_DOUBLE_EQ(back.system.psi_cpu.some.avg10, 4.5);
    EXPECT_FALSE(back.system.psi_memory.available);
    EXPECT_DOUBLE_EQ(back.system.loadavg[2], 1.25);
    ASSERT_EQ(back.cgroups.size(), 1u);
    EXPECT_EQ(back.cgroups[0].path, "/a");
    EXPECT_DOUBLE_EQ(back.cgroups[0].cpu_pct, 50);
    EXPECT_TRUE(back.processes.empty());
}

}  // namespace
}  // namespace perfbpf

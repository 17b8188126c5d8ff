#include "detect/growth_target.h"

#include <gtest/gtest.h>

#include "sinks/incident_json.h"

namespace perfbpf {
namespace {

IncidentSeries series(std::string metric, Labels labels, double observed, double band_high,
                      double score) {
    IncidentSeries s;
    s.key = {std::move(metric), std::move(labels)};
    s.peak.observed = observed;
    s.peak.band_high = band_high;
    s.peak.score = score;
    return s;
}

Labels proc(int pid, std::string comm) {
    return {{"cgroup", "/"}, {"comm", std::move(comm)}, {"pid", std::to_string(pid)}};
}

TEST(GrowthTarget, TheProcessWhoseResidentMemoryRoseMost) {
    Incident i;
    i.series = {series("cpu_pct", proc(7, "busy"), 90, 5, 40),           // not memory
                series("rss_bytes", {{"cgroup", "/db"}}, 9e9, 1e9, 30),  // a cgroup
                series("rss_bytes", proc(11, "shrinks"), 1e6, 2e6, 25),  // fell
                series("rss_growth_bytes", proc(12, "grows"), 5e6, 1e5, 12),
                series("rss_bytes", proc(13, "grows2"), 8e8, 4e8, 9)};
    auto t = memory_growth_target(i, 0);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->pid, 12);
    EXPECT_EQ(t->comm, "grows");
    // Never perfbpf itself.
    t = memory_growth_target(i, 12);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->pid, 13);
    Incident none;
    none.series = {series("cpu_pct", proc(7, "busy"), 90, 5, 40)};
    EXPECT_FALSE(memory_growth_target(none, 0));
}

TEST(GrowthTarget, ACaptureIsARecordOfItsIncidentWithItsTopStacks) {
    LeakReport r;
    r.mode = "growth";
    ProcessGrowth g;
    g.pid = 12;
    g.trend.cls = LeakClass::leak;
    g.trend.slope_bytes_per_s = 3 * 1024 * 1024;
    r.processes.push_back(g);
    for (int n = 0; n < 7; ++n) {
        LeakStack s;
        s.outstanding_bytes = (7 - n) * 1e6;
        s.frames = {{"leak_chunk", "cache_plateau.c", 25, "cache_plateau", 0, false},
                    {"main", "cache_plateau.c", 42, "cache_plateau", 0, false}};
        r.stacks.push_back(s);
    }
    const auto rec = leak_capture_record(5000, "9-1", 12, "grows", 30, r);
    EXPECT_EQ(rec["event"], "leaks");
    EXPECT_EQ(rec["leaks"]["stacks"].size(), 5u);  // the top 5
    EXPECT_EQ(rec["leaks"]["trend"], "leak");
    EXPECT_EQ(rec["leaks"]["stacks"][0]["frames"][0], "leak_chunk (cache_plateau.c:25)");
    const Result<LeakReport> failed = fail("no such process: 12");
    const auto err = leak_capture_record(6000, "9-2", 12, "grows", 30, failed);
    EXPECT_EQ(err["leaks"]["error"], "no such process: 12");

    Incident inc;
    inc.id = 1;
    inc.series = {series("rss_bytes", proc(12, "grows"), 8e8, 4e8, 9)};
    const std::vector<std::string> lines = {
        incident_record(1000, "9-1", IncidentChange::opened, inc).dump(), rec.dump(), err.dump()};
    const auto folded = fold_incident_records(lines, 0);
    ASSERT_EQ(folded["incidents"].size(), 1u);
    ASSERT_EQ(folded["incidents"][0]["leaks"].size(), 1u);
    const std::string text = incidents_text(folded);
    EXPECT_NE(text.find("leak trace of pid 12 (grows) for 30 s: RSS leak at 3.0 MiB/s"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("leak_chunk (cache_plateau.c:25) < main (cache_plateau.c:42)"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace perfbpf

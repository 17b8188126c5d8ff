#include "detect/tune_hint.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

IncidentSeries series(std::string metric, Labels labels, double score) {
    IncidentSeries s;
    s.key = {std::move(metric), std::move(labels)};
    s.peak.score = score;
    return s;
}

TEST(TuneHint, IncidentOnACgroupNamesTheTunerOfItsResource) {
    Incident cpu;
    cpu.series = {series("psi_cpu_some_pct", {}, 20),
                  series("runq_wait_ns", {{"cgroup", "/batch/lat"}}, 9)};
    EXPECT_EQ(incident_tune_hint(cpu), (TuneHint{"cpu-share", "cgroup", "/batch/lat"}));

    Incident mem;
    mem.series = {series("memory_current_bytes", {{"cgroup", "/db"}}, 8)};
    EXPECT_EQ(incident_tune_hint(mem), (TuneHint{"memory", "cgroup", "/db"}));

    Incident io;
    io.series = {series("lat_p99_us", {{"device", "sdb"}}, 8)};
    EXPECT_EQ(incident_tune_hint(io), (TuneHint{"block-io", "device", "sdb"}));
}

TEST(TuneHint, IncidentsOnProcessesTheRootOrFilesystemsNameNoTuner) {
    Incident proc;
    proc.series = {series("cpu_pct", {{"cgroup", "/batch"}, {"comm", "x"}, {"pid", "12"}}, 30)};
    EXPECT_FALSE(incident_tune_hint(proc));
    Incident root;
    root.series = {series("cpu_pct", {{"cgroup", "/"}}, 30)};
    EXPECT_FALSE(incident_tune_hint(root));
    Incident fs;
    fs.series = {series("used_bytes", {{"device", "vda1"}, {"mountpoint", "/"}}, 30)};
    EXPECT_FALSE(incident_tune_hint(fs));
    Incident host;
    host.series = {series("psi_cpu_some_pct", {}, 30)};
    EXPECT_FALSE(incident_tune_hint(host));
}

TEST(TuneHint, HighestScoredSeriesWithAnObjectWins) {
    Incident i;
    i.series = {series("cpu_pct", {{"cgroup", "/a"}}, 7),
                series("cpu_pct", {{"cgroup", "/b"}}, 12)};
    EXPECT_EQ(incident_tune_hint(i), (TuneHint{"cpu-share", "cgroup", "/b"}));
}

TEST(TuneHint, AlertNamesItsRulesTunerForObjectsItCanTune) {
    Alert a;
    a.object = {{"cgroup", "/svc/web"}};
    EXPECT_FALSE(alert_tune_hint(a));  // the rule names no tuner
    a.tuner = "cpu-share";
    EXPECT_EQ(alert_tune_hint(a), (TuneHint{"cpu-share", "cgroup", "/svc/web"}));
    a.object = {{"cgroup", "/svc"}, {"comm", "web"}, {"pid", "812"}, {"start", "1"}};
    EXPECT_EQ(alert_tune_hint(a), (TuneHint{"cpu-share", "pid", "812"}));
    a.tuner = "block-io";  // a process is no device
    EXPECT_FALSE(alert_tune_hint(a));
    a.tuner = "tcp-buffers";
    a.object = {{"netns", "host"}};  // the host's sysctls: no object filter allows them
    EXPECT_FALSE(alert_tune_hint(a));
    a.object = {{"netns", "blue"}};
    EXPECT_EQ(alert_tune_hint(a), (TuneHint{"tcp-buffers", "netns", "blue"}));
    a.object = {};  // an aggregate alert is about no object
    EXPECT_FALSE(alert_tune_hint(a));
}

}  // namespace
}  // namespace perfbpf

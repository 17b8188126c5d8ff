// Grouping anomalies into incidents (detect/incidents.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "detect/incidents.h"

namespace perfbpf {
namespace {

SeriesKey key(std::string metric, Labels labels = {}) {
    return {std::move(metric), labels};
}

TEST(Incidents, ResourcesFollowObjectAndName) {
    EXPECT_EQ(resource_of(key("psi_cpu_some_avg10")), Resource::cpu);
    EXPECT_EQ(resource_of(key("runq_wait_ns", {{"cgroup", "/a"}})), Resource::cpu);
    EXPECT_EQ(resource_of(key("cpu_iowait_pct")), Resource::io);
    EXPECT_EQ(resource_of(key("lat_p99_us", {{"device", "sda"}})), Resource::io);
    EXPECT_EQ(resource_of(key("rss_bytes", {{"cgroup", "/a"}, {"pid", "1"}})), Resource::memory);
    EXPECT_EQ(resource_of(key("memory_pressures", {{"netns", "x"}})), Resource::net);
    EXPECT_EQ(resource_of(key("major_faults")), Resource::memory);
}

TEST(Incidents, RelatedAreSameObjectOrNestedObjectsOfOneResource) {
    const Labels app{{"cgroup", "/app"}};
    const Labels proc{{"cgroup", "/app/web"}, {"comm", "nginx"}, {"pid", "7"}, {"start", "1"}};
    const Labels other{{"cgroup", "/batch"}};
    EXPECT_TRUE(series_related(key("cpu_pct", app), key("runq_wait_ns", app)));
    EXPECT_TRUE(series_related(key("cpu_pct", app), key("rss_bytes", app)));
    EXPECT_TRUE(series_related(key("cpu_pct", app), key("psi_cpu_some_avg10")));
    EXPECT_TRUE(series_related(key("cpu_pct", proc), key("runq_wait_ns", app)));
    EXPECT_FALSE(series_related(key("cpu_pct", proc), key("rss_bytes", app)));
    EXPECT_FALSE(series_related(key("cpu_pct", other), key("cpu_pct", app)));
    EXPECT_FALSE(series_related(key("cpu_pct", app), key("psi_io_some_avg10")));
    EXPECT_FALSE(series_related(key("cpu_pct", {{"cgroup", "/application"}}), key("cpu_pct", app)));
}

// Series fed every second: noise around a base, plus a change in [from, to) per series.
struct Scripted {
    SeriesKey key;
    double base, noise, change;
    int64_t from, to;
};

std::vector<IncidentEvent> run(AnomalyDetector& d, const std::vector<Scripted>& series,
                               int64_t seconds) {
    std::mt19937 rng(5);
    std::vector<IncidentEvent> all;
    std::vector<SeriesSample> samples(series.size());
    for (int64_t t = 0; t < seconds; ++t) {
        for (size_t i = 0; i < series.size(); ++i) {
            const Scripted& s = series[i];
            std::normal_distribution<double> n(0, s.noise);
            samples[i].key = s.key;
            samples[i].kind = MetricKind::gauge;
            samples[i].value = s.base + n(rng) + (t >= s.from && t < s.to ? s.change : 0);
        }
        for (auto& e : d.feed(t * 1000, samples)) all.push_back(std::move(e));
    }
    return all;
}

TEST(Incidents, ACgroupsCpuItsRunQueueAndHostPsiAreOneIncident) {
    const Labels app{{"cgroup", "/app"}};
    AnomalyDetector d;
    auto events = run(d,
                      {
                          {key("cpu_pct", app), 20, 1, 60, 700, 760},
                          {key("runq_lat_p99_us", app), 300, 20, 5000, 702, 760},
                          {key("psi_cpu_some_avg10"), 2, 0.3, 40, 704, 770},
                          {key("lat_p99_us", {{"device", "sda"}}), 500, 30, 20000, 703, 740},
                          {key("cpu_pct", {{"cgroup", "/quiet"}}), 5, 0.5, 0, 0, 0},
                      },
                      900);
    std::vector<IncidentEvent> opened, closed;
    for (auto& e : events) {
        if (e.change == IncidentChange::opened) opened.push_back(e);
        if (e.change == IncidentChange::closed) closed.push_back(e);
    }
    ASSERT_EQ(opened.size(), 2u);
    ASSERT_EQ(closed.size(), 2u);
    const Incident& cpu =
        closed[0].incident.series.size() == 3 ? closed[0].incident : closed[1].incident;
    const Incident& io = &cpu == &closed[0].incident ? closed[1].incident : closed[0].incident;
    ASSERT_EQ(cpu.series.size(), 3u);
    ASSERT_EQ(io.series.size(), 1u);
    EXPECT_EQ(io.series[0].key.metric, "lat_p99_us");
    EXPECT_NE(cpu.id, io.id);
    EXPECT_GE(cpu.start_ms, 700'000);
    EXPECT_LE(cpu.start_ms, 705'000);
    // It ends with the last series back in band (psi at 770), not when the series' anomaly
    // states ran out.
    EXPECT_GE(cpu.end_ms, 769'000);
    EXPECT_LE(cpu.end_ms, 772'000);
    for (const IncidentSeries& s : cpu.series) {
        EXPECT_FALSE(s.active);
        EXPECT_GT(s.peak.score, d.scorer().params().threshold);
        EXPECT_GT(s.peak.observed, s.peak.band_high);
    }
    // Each join was reported.
    const auto updates = std::ranges::count_if(events, [&](const IncidentEvent& e) {
        return e.change == IncidentChange::updated && e.incident.id == cpu.id;
    });
    EXPECT_GE(updates, 2);
    EXPECT_EQ(d.tracker().open_count(), 0u);
}

TEST(Incidents, AnomaliesFarApartInTimeAreSeparateIncidents) {
    const Labels app{{"cgroup", "/app"}};
    AnomalyDetector d;
    auto events = run(d,
                      {
                          {key("cpu_pct", app), 20, 1, 60, 700, 720},
                          {key("runq_lat_p99_us", app), 300, 20, 5000, 820, 840},
                      },
                      1000);
    EXPECT_EQ(std::ranges::count_if(
                  events, [](const auto& e) { return e.change == IncidentChange::opened; }),
              2);
}

}  // namespace
}  // namespace perfbpf

// The Prometheus exposition: names in base units, counters and histograms accumulated into
// monotonic totals, staleness of missing series, escaping, self-metrics, and promtool's
// verdict on a page rendered from a recording.
#include "sinks/prometheus.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "detect/alert_rules.h"
#include "model/series_span.h"
#include "sinks/snapshot_record.h"
#include "support/series_sample.h"
#include "support/temp_dir.h"

namespace perfbpf {
namespace {

constexpr auto* sample = &test::series_sample;

const Labels kProc{{"cgroup", "/a"}, {"comm", "spin"}, {"pid", "42"}, {"start", "7"}};

// The value on the line that starts with `series` ("name{labels}"), or NaN when none does.
double value_of(const std::string& page, const std::string& series) {
    size_t pos = 0;
    while ((pos = page.find(series + " ", pos)) != std::string::npos) {
        if (pos == 0 || page[pos - 1] == '\n') {
            const size_t start = pos + series.size() + 1;
            return std::stod(page.substr(start, page.find('\n', start) - start));
        }
        pos += series.size();
    }
    return std::nan("");
}

TEST(Prometheus, NamesAreInBaseUnits) {
    auto name = [](std::string_view metric) { return prom_family(*find_metric(metric)).name; };
    EXPECT_EQ(name("oncpu_ns"), "perfbpf_oncpu_seconds_total");
    EXPECT_EQ(name("runq_lat_p99_us"), "perfbpf_runq_lat_p99_seconds");
    EXPECT_EQ(name("cpu_pct"), "perfbpf_cpu_ratio");
    EXPECT_EQ(name("read_bytes"), "perfbpf_read_bytes_total");
    EXPECT_EQ(name("rss_bytes"), "perfbpf_rss_bytes");
    EXPECT_EQ(name("runq_hist"), "perfbpf_runq_seconds");
    EXPECT_EQ(name("packet_drops"), "perfbpf_packet_drops_total");
    EXPECT_EQ(name("packet_drops_total"), "perfbpf_packet_drops_all_total");
    EXPECT_EQ(name("psi_cpu_some_avg10"), "perfbpf_psi_cpu_some_avg10_ratio");
    EXPECT_EQ(name("psi_io_full_total_us"), "perfbpf_psi_io_full_total_seconds");
    // A signed change summed would not be monotonic: a gauge of the interval's change.
    EXPECT_EQ(name("rss_growth_bytes"), "perfbpf_rss_growth_bytes");
    EXPECT_EQ(prom_family(*find_metric("rss_growth_bytes")).type, PromType::gauge);
}

TEST(Prometheus, EveryCatalogueNameHasItsOwnFamily) {
    std::map<std::string, std::string> seen;  // family -> series name
    for (const auto& f : metric_catalogue()) {
        const PromFamily p = prom_family(f);
        auto [it, fresh] = seen.try_emplace(p.name, f.name);
        EXPECT_TRUE(fresh || it->second == f.name)
            << p.name << ": " << it->second << ", " << f.name;
        EXPECT_FALSE(p.name.starts_with("perfbpf_self_")) << p.name;
        EXPECT_FALSE(p.help.empty()) << p.name;
    }
}

// The alert rules' derived series (detect/alert_rules.h) are on the page too, so that
// Prometheus can hold the daemon's rules: a verdict's severity as a gauge, OOM kills as a
// counter that keeps its total.
TEST(Prometheus, DerivedAlertSeriesAreExposed) {
    Exposition x;
    const std::vector<SeriesSample> derived = {
        sample("mem_used_pct", {}, MetricKind::gauge, 81),
        sample("verdict_severity", {{"resource", "cpu"}}, MetricKind::level, 2),
        sample("oom_kills", {{"comm", "hog"}, {"pid", "7"}}, MetricKind::counter, 1)};
    x.update({}, derived);
    x.update({}, derived);
    const std::string page = x.render({});
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_mem_used_ratio"), 0.81);
    EXPECT_EQ(value_of(page, "perfbpf_verdict_severity{resource=\"cpu\"}"), 2);
    EXPECT_EQ(value_of(page, "perfbpf_oom_kills_total{comm=\"hog\",pid=\"7\"}"), 2);
    EXPECT_NE(page.find("# TYPE perfbpf_oom_kills_total counter\n"), std::string::npos) << page;
    EXPECT_NE(page.find("# TYPE perfbpf_verdict_severity gauge\n"), std::string::npos) << page;
    // Derived names do not collide with the catalogue's families.
    for (const auto& d : derived_alert_metrics()) EXPECT_EQ(find_metric(d.name), nullptr) << d.name;
}

TEST(Prometheus, CountersAccumulateAcrossIntervals) {
    Exposition x;
    x.update(std::vector{sample("oncpu_ns", kProc, MetricKind::counter, 5e8),
                         sample("cpu_pct", kProc, MetricKind::gauge, 50)});
    x.update(std::vector{sample("oncpu_ns", kProc, MetricKind::counter, 25e7),
                         sample("cpu_pct", kProc, MetricKind::gauge, 25)});
    const std::string page = x.render({});
    const std::string labels = R"({cgroup="/a",comm="spin",pid="42",start="7"})";
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_oncpu_seconds_total" + labels), 0.75);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_cpu_ratio" + labels), 0.25);
    EXPECT_NE(page.find("# TYPE perfbpf_oncpu_seconds_total counter\n"), std::string::npos);
    EXPECT_NE(page.find("# TYPE perfbpf_cpu_ratio gauge\n"), std::string::npos);
    EXPECT_NE(page.find("# HELP perfbpf_oncpu_seconds_total time on a CPU (seconds)\n"),
              std::string::npos);
}

// The daemon updates the exposition once a span (a second at 0.1 s) with the span's folded
// series: totals and histograms are what every interval would have made them, a gauge is the
// span's mean (the share over its second), a level its last.
TEST(Prometheus, SpanUpdatesKeepEveryIntervalsTotals) {
    Exposition every, spans;
    SeriesSpan span;
    double cpu_sum = 0;
    for (int i = 1; i <= 30; ++i) {
        SeriesSample h = sample("runq_hist", {{"cpu", "0"}}, MetricKind::histogram, 0);
        h.hist.add_us(static_cast<uint64_t>(i * 37), static_cast<uint64_t>(i % 4));
        std::vector<SeriesSample> interval = {
            sample("oncpu_ns", kProc, MetricKind::counter, 1e6 * i),
            sample("cpu_pct", kProc, MetricKind::gauge, i),
            sample("rss_bytes", kProc, MetricKind::level, 4096.0 * i), h};
        if (i <= 12)
            interval.push_back(sample("read_bytes", {{"pid", "9"}}, MetricKind::counter, 3));
        every.update(interval);
        span.add(interval);
        if (i > 20) cpu_sum += i;
        if (span.intervals() == intervals_per_span(0.1)) spans.update(span.take().series);
    }
    const std::string a = every.render({}), b = spans.render({});
    const std::string labels = R"({cgroup="/a",comm="spin",pid="42",start="7"})";
    EXPECT_DOUBLE_EQ(value_of(b, "perfbpf_oncpu_seconds_total" + labels), 465e6 * 1e-9);
    EXPECT_DOUBLE_EQ(value_of(b, "perfbpf_oncpu_seconds_total" + labels),
                     value_of(a, "perfbpf_oncpu_seconds_total" + labels));
    EXPECT_DOUBLE_EQ(value_of(b, R"(perfbpf_read_bytes_total{pid="9"})"), 36);
    EXPECT_DOUBLE_EQ(value_of(b, R"(perfbpf_read_bytes_total{pid="9"})"),
                     value_of(a, R"(perfbpf_read_bytes_total{pid="9"})"));
    EXPECT_DOUBLE_EQ(value_of(b, "perfbpf_rss_bytes" + labels),
                     value_of(a, "perfbpf_rss_bytes" + labels));
    for (const char* le : {"4e-06", "6.4e-05", "0.000256", "0.001024", "+Inf"}) {
        const std::string bucket =
            std::string(R"(perfbpf_runq_seconds_bucket{cpu="0",le=")") + le + "\"}";
        EXPECT_DOUBLE_EQ(value_of(b, bucket), value_of(a, bucket)) << le;
    }
    EXPECT_DOUBLE_EQ(value_of(b, R"(perfbpf_runq_seconds_sum{cpu="0"})"),
                     value_of(a, R"(perfbpf_runq_seconds_sum{cpu="0"})"));
    EXPECT_DOUBLE_EQ(value_of(b, "perfbpf_cpu_ratio" + labels), cpu_sum / 10 / 100);
}

TEST(Prometheus, HistogramsAreCumulativeInSeconds) {
    SeriesSample h = sample("runq_hist", {{"cpu", "0"}}, MetricKind::histogram, 0);
    h.hist.add_us(0, 2);     // slot 0: < 1 µs
    h.hist.add_us(3, 1);     // slot 2: [2, 4) µs
    h.hist.add_us(1000, 1);  // slot 10: [512, 1024) µs
    Exposition x;
    x.update(std::vector{h});
    x.update(std::vector{h});
    const std::string page = x.render({});
    EXPECT_NE(page.find("# TYPE perfbpf_runq_seconds histogram\n"), std::string::npos);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_runq_seconds_bucket{cpu="0",le="1e-06"})"), 4);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_runq_seconds_bucket{cpu="0",le="2e-06"})"), 4);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_runq_seconds_bucket{cpu="0",le="4e-06"})"), 6);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_runq_seconds_bucket{cpu="0",le="0.001024"})"), 8);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_runq_seconds_bucket{cpu="0",le="+Inf"})"), 8);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_runq_seconds_count{cpu="0"})"), 8);
    // Midpoints: 0.5, 3 and 768 µs, twice.
    EXPECT_NEAR(value_of(page, R"(perfbpf_runq_seconds_sum{cpu="0"})"),
                2 * (2 * 0.5 + 3 + 768) * 1e-6, 1e-12);
}

TEST(Prometheus, MissingSeriesKeepTheirTotalForAFewScrapes) {
    Exposition x({.stale_scrapes = 2, .stale_intervals = 100});
    x.update(std::vector{sample("oncpu_ns", kProc, MetricKind::counter, 1e9),
                         sample("cpu_pct", kProc, MetricKind::gauge, 100)});
    x.update({});
    const std::string labels = R"({cgroup="/a",comm="spin",pid="42",start="7"})";
    std::string page = x.render({});
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_oncpu_seconds_total" + labels), 1);
    EXPECT_EQ(page.find("perfbpf_cpu_ratio"), std::string::npos) << "a gone gauge is stale";
    page = x.render({});
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_oncpu_seconds_total" + labels), 1);
    page = x.render({});
    EXPECT_TRUE(std::isnan(value_of(page, "perfbpf_oncpu_seconds_total" + labels)));
    EXPECT_EQ(x.series(), 0u);
}

TEST(Prometheus, MissingSeriesAreDroppedWithoutScrapesToo) {
    Exposition x({.stale_scrapes = 3, .stale_intervals = 4});
    x.update(std::vector{sample("oncpu_ns", kProc, MetricKind::counter, 1e9)});
    for (int i = 0; i < 3; ++i) x.update({});
    EXPECT_EQ(x.series(), 1u);  // not before stale_intervals
    // Pruned in passes every 64 intervals (a pass over every series each interval cost most
    // of the daemon's CPU): gone within that.
    for (int i = 0; i < 64 && x.series() > 0; ++i) x.update({});
    EXPECT_EQ(x.series(), 0u);
}

TEST(Prometheus, ReturningSeriesContinueTheirTotal) {
    Exposition x;
    x.update(std::vector{sample("read_bytes", {{"device", "sda"}}, MetricKind::counter, 10)});
    x.update({});
    x.update(std::vector{sample("read_bytes", {{"device", "sda"}}, MetricKind::counter, 5)});
    EXPECT_DOUBLE_EQ(value_of(x.render({}), R"(perfbpf_read_bytes_total{device="sda"})"), 15);
}

TEST(Prometheus, EscapesLabelValuesAndHelp) {
    EXPECT_EQ(prom_escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(prom_escape_help("x\\y\nz\""), "x\\\\y\\nz\"");
    Exposition x;
    x.update(std::vector{sample("cpu_pct", {{"cgroup", "/we\"ird\n"}}, MetricKind::gauge, 10)});
    EXPECT_NE(x.render({}).find(R"(perfbpf_cpu_ratio{cgroup="/we\"ird\n"} 0.1)"),
              std::string::npos);
}

TEST(Prometheus, Numbers) {
    EXPECT_EQ(prom_number(0.1), "0.1");
    EXPECT_EQ(prom_number(3), "3");
    EXPECT_EQ(prom_number(std::nan("")), "NaN");
    EXPECT_EQ(prom_number(-1.0 / 0.0), "-Inf");
}

TEST(Prometheus, SelfMetricsFromTheStatus) {
    DaemonStatus s;
    s.series = 123;
    s.drops = {{"ringbuf", 7}, {"sched", 2}};
    s.cost_own_cpu_pct = 1.5;
    s.cost_bpf_pct = -1;  // not measured yet: no series
    s.own_rss_bytes = 40 << 20;
    s.governor_level = 2;
    s.history_dropped_intervals = 4;
    Exposition x;
    x.render(s);
    const std::string page = x.render(s);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_self_series"), 123);
    EXPECT_DOUBLE_EQ(value_of(page, R"(perfbpf_self_dropped_events_total{kind="ringbuf"})"), 7);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_self_cpu_ratio"), 0.015);
    EXPECT_EQ(page.find("perfbpf_self_bpf_cpu_ratio"), std::string::npos);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_self_resident_memory_bytes"), 40 << 20);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_self_governor_level"), 2);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_self_history_dropped_intervals_total"), 4);
    EXPECT_DOUBLE_EQ(value_of(page, "perfbpf_self_alerts_firing"), 0);
    const double scrape = value_of(page, "perfbpf_self_scrape_duration_seconds");
    EXPECT_GT(scrape, 0);
    EXPECT_LT(scrape, 1);
}

// Every family has exactly one HELP and one TYPE line, before its samples, and its samples
// are contiguous (what the text format requires).
TEST(Prometheus, FamiliesAreContiguousWithOneHeader) {
    auto snaps =
        read_recording(std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(snaps) << snaps.error().message;
    Exposition x;
    for (const auto& snap : *snaps) x.update(snapshot_series(snap));
    const std::string page = x.render({});
    std::set<std::string> closed;
    std::string current;
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("# HELP ")) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(closed.insert(name).second) << "second header for " << name;
            current = name;
            continue;
        }
        if (line.starts_with("#")) continue;
        const std::string series = line.substr(0, line.find_first_of("{ "));
        EXPECT_TRUE(series.starts_with(current)) << series << " under " << current;
    }
    EXPECT_GT(closed.size(), 50u);
}

// promtool (Debian's prometheus package) parses the page and lints it.
TEST(Prometheus, PromtoolAcceptsARecordedInterval) {
    if (::access("/usr/bin/promtool", X_OK) != 0)
        GTEST_SKIP() << "/usr/bin/promtool missing (scripts/install-deps.sh installs prometheus)";
    auto snaps =
        read_recording(std::string(PERFBPF_FIXTURES_DIR) + "/recordings/cpu-contention.jsonl");
    ASSERT_TRUE(snaps) << snaps.error().message;
    Exposition x;
    for (const auto& snap : *snaps) x.update(snapshot_series(snap));
    DaemonStatus status;
    status.drops = {{"sched", 3}};
    status.cost_own_cpu_pct = 0.4;
    status.cost_bpf_pct = 0.1;
    status.own_rss_bytes = 1 << 25;
    const std::string page = x.render(status);

    test::TempDir dir;
    const std::string in = dir.path() + "/metrics.txt";
    const std::string out = dir.path() + "/promtool.out";
    std::ofstream(in) << page;
    const std::string cmd = "/usr/bin/promtool check metrics < " + in + " > " + out + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream o(out);
    const std::string said((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << said;
    EXPECT_EQ(said, "");
}

}  // namespace
}  // namespace perfbpf

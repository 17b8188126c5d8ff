// The report model on a history the test fills with known values: avg, p95 and max per
// resource, top consumers, the verdict and alert timelines, the tuner's changes.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>

#include "detect/report.h"
#include "sinks/history_report.h"
#include "sinks/incident_json.h"
#include "sinks/report.h"
#include "store_test_support.h"
#include "support/temp_dir.h"
#include "tune/journal.h"

namespace perfbpf {
namespace {

constexpr int64_t kMin = 60'000;
constexpr int64_t kIntervalMs = 10'000;  // six intervals a minute

const ResourceStats* find(const Report& r, std::string_view resource,
                          std::string_view object = "") {
    for (const auto& s : r.resources)
        if (s.resource == resource && s.object == object) return &s;
    return nullptr;
}

Labels process(const std::string& comm, const std::string& pid) {
    return {{"cgroup", "/app"}, {"comm", comm}, {"pid", pid}, {"start", "7"}};
}

// One hour of intervals from t0: each series' value as a function of the minute (m) and
// the interval within it (j).
struct Filler {
    History& h;
    std::vector<std::pair<SeriesId, std::function<double(int, int)>>> series;

    void add(const std::string& metric, Labels labels, MetricKind kind,
             std::function<double(int, int)> f) {
        series.emplace_back(h.intern({metric, std::move(labels)}, kind), std::move(f));
    }
    void fill(int64_t t0, int minutes) {
        std::vector<std::pair<SeriesId, double>> values;
        for (int m = 0; m < minutes; ++m)
            for (int j = 0; j < 6; ++j) {
                values.clear();
                for (auto& [id, f] : series) values.emplace_back(id, f(m, j));
                auto r = h.append(t0 + m * kMin + j * kIntervalMs, values, {});
                ASSERT_TRUE(r) << r.error().message;
            }
    }
};

class ReportTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        t0_ = now / 3'600'000 * 3'600'000 - 2 * 3'600'000;
        auto h = History::open(dir_.path());
        ASSERT_TRUE(h) << h.error().message;
        history_ = std::make_unique<History>(std::move(*h));
        Filler f{*history_, {}};
        using enum MetricKind;
        // CPU busy: the minute's number all minute, but one interval of 100 in minute 10.
        f.add("cpu_busy_pct", {}, gauge, [](int m, int j) { return m == 10 && j == 0 ? 100 : m; });
        f.add("mem_total_bytes", {}, level, [](int, int) { return 1000; });
        f.add("mem_available_bytes", {}, level,
              [](int m, int j) { return m == 30 && j == 3 ? 100 : 250; });
        f.add("swap_total_bytes", {}, level, [](int, int) { return 0; });
        f.add("swap_free_bytes", {}, level, [](int, int) { return 0; });
        f.add("tcp_tx_bytes", {}, counter, [](int, int) { return 10'000; });
        // A cgroup's and a process's sends are not the host's.
        f.add("tcp_tx_bytes", {{"cgroup", "/app"}}, counter, [](int, int) { return 1e9; });
        f.add("lat_p99_us", {{"device", "sda"}}, gauge,
              [](int m, int) { return m < 30 ? 100 : 300; });
        f.add("util_pct", {{"device", "sda"}}, gauge, [](int, int) { return 50; });
        f.add("oncpu_ns", process("db", "10"), counter, [](int, int) { return 1e9; });
        f.add("oncpu_ns", process("web", "20"), counter, [](int, int) { return 5e8; });
        f.add("oncpu_ns", process("other", "0"), counter, [](int, int) { return 9e9; });
        f.add("rss_bytes", process("db", "10"), level, [](int, int) { return 1000; });
        f.add("rss_bytes", process("web", "20"), level,
              [](int m, int) { return m == 5 ? 5000 : 10; });
        f.add("read_bytes", process("web", "20"), counter, [](int, int) { return 100; });
        f.add("write_bytes", process("web", "20"), counter, [](int, int) { return 100; });
        f.add("write_bytes", process("db", "10"), counter, [](int, int) { return 150; });
        f.add("oncpu_ns", {{"cgroup", "/app"}}, counter, [](int, int) { return 1.5e9; });
        // Alerts as the daemon writes them: 1 each interval firing, 0 when it resolves.
        f.add("alert_state", {{"alert", "cpu_busy"}, {"severity", "warning"}}, level,
              [](int m, int) { return m >= 20 && m < 25 ? 1 : 0; });
        f.add("alert_state", {{"alert", "verdict"}, {"resource", "disk"}, {"severity", "critical"}},
              level, [](int m, int) { return m >= 40 && m < 42 ? 1 : 0; });
        f.fill(t0_, 60);
    }

    Report build(const tune::JournalState* journal = nullptr,
                 const std::vector<std::string>* incident_records = nullptr) {
        ReportOptions o;
        o.incident_records = incident_records;
        o.from_ms = t0_;
        o.to_ms = t0_ + 3 * 3'600'000;
        o.now_ms = o.to_ms;
        auto r = build_report(*history_, o, journal);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : Report{};
    }

    test::StateDir dir_;
    std::unique_ptr<History> history_;
    int64_t t0_ = 0;
};

TEST_F(ReportTest, ResourcesHaveExactAverageP95AndMax) {
    const Report r = build();
    EXPECT_EQ(r.intervals, 360u);
    const auto* cpu = find(r, "cpu_busy");
    ASSERT_NE(cpu, nullptr);
    // Minutes 0..59 at their number, one interval of minute 10 at 100 instead of 10.
    EXPECT_DOUBLE_EQ(cpu->avg, (6.0 * 59 * 60 / 2 - 10 + 100) / 360);
    EXPECT_DOUBLE_EQ(cpu->max, 100);
    // Minute means: 0..59 with minute 10 at 25; the 57th of 60 is 56.
    EXPECT_DOUBLE_EQ(cpu->p95, 56);
    EXPECT_EQ(cpu->intervals, 360u);
    EXPECT_EQ(cpu->chart.size(), 60u);

    const auto* mem = find(r, "memory_in_use");
    ASSERT_NE(mem, nullptr);
    EXPECT_DOUBLE_EQ(mem->max, 90);  // 100 of 1000 left once
    EXPECT_DOUBLE_EQ(mem->p95, 75);
    EXPECT_DOUBLE_EQ(mem->avg, (59 * 75 + 100 * (1 - 225.0 / 1000)) / 60);  // 225: minute 30's mean
    EXPECT_EQ(find(r, "swap_in_use"), nullptr);                             // no swap: no row

    const auto* tx = find(r, "net_tx");
    ASSERT_NE(tx, nullptr);
    EXPECT_DOUBLE_EQ(tx->avg, 1000);  // 10,000 bytes each 10 s interval
    EXPECT_DOUBLE_EQ(tx->max, 1000);
    EXPECT_EQ(tx->unit, "bytes/s");

    const auto* lat = find(r, "disk_latency_p99", "sda");
    ASSERT_NE(lat, nullptr);
    EXPECT_DOUBLE_EQ(lat->avg, 200);
    EXPECT_DOUBLE_EQ(lat->p95, 300);
    EXPECT_DOUBLE_EQ(lat->max, 300);
    ASSERT_NE(find(r, "disk_util", "sda"), nullptr);
    EXPECT_EQ(find(r, "psi_io"), nullptr);  // nothing recorded: no row
}

TEST_F(ReportTest, TopConsumersOverTheRange) {
    const Report r = build();
    auto list = [&](std::string_view object, std::string_view by) -> const TopList& {
        for (const auto& t : r.top)
            if (t.object == object && t.by == by) return t;
        throw std::runtime_error("no list");
    };
    const auto& cpu = list("process", "cpu");
    ASSERT_EQ(cpu.top.size(), 2u);  // `other` is not a consumer
    EXPECT_EQ(cpu.top[0].name, "db (10)");
    EXPECT_DOUBLE_EQ(cpu.top[0].value, 360);  // 1 s on CPU each of 360 intervals
    EXPECT_DOUBLE_EQ(cpu.top[1].value, 180);
    const auto& mem = list("process", "memory");
    ASSERT_EQ(mem.top.size(), 2u);
    EXPECT_EQ(mem.top[0].name, "web (20)");
    EXPECT_DOUBLE_EQ(mem.top[0].value, 5000);
    const auto& io = list("process", "io");
    ASSERT_EQ(io.top.size(), 2u);
    EXPECT_EQ(io.top[0].name, "web (20)");
    EXPECT_DOUBLE_EQ(io.top[0].value, 200 * 360);
    const auto& cg = list("cgroup", "cpu");
    ASSERT_EQ(cg.top.size(), 1u);
    EXPECT_EQ(cg.top[0].name, "/app");
    EXPECT_DOUBLE_EQ(cg.top[0].value, 540);
}

TEST_F(ReportTest, VerdictAndAlertTimelines) {
    const Report r = build();
    ASSERT_EQ(r.alerts.size(), 1u);
    EXPECT_EQ(r.alerts[0].name, "cpu_busy");
    EXPECT_EQ(r.alerts[0].start_ms, t0_ + 20 * kMin);
    EXPECT_EQ(r.alerts[0].end_ms, t0_ + 25 * kMin);
    ASSERT_EQ(r.verdicts.size(), 1u);
    EXPECT_EQ(r.verdicts[0].name, "disk");
    EXPECT_EQ(r.verdicts[0].severity, "critical");
    EXPECT_TRUE(r.verdicts[0].object.empty());
    EXPECT_EQ(r.verdicts[0].end_ms, t0_ + 42 * kMin);
}

TEST_F(ReportTest, AnAlertFiringAtTheEndOfAPastRangeIsOngoingThere) {
    ReportOptions o;
    o.from_ms = t0_;
    o.to_ms = t0_ + 22 * kMin;  // cpu_busy fires from minute 20 to 25
    o.now_ms = t0_ + 2 * 3'600'000;
    auto r = build_report(*history_, o, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->alerts.size(), 1u);
    EXPECT_EQ(r->alerts[0].end_ms, 0);
    EXPECT_FALSE(r->alerts[0].daemon_stopped);
}

TEST_F(ReportTest, TuneChangesInRangeWithTheirOutcome) {
    test::TempDir state;
    const tune::KnobId knob{tune::KnobKind::block_queue, "read_ahead_kb",
                            tune::Scope::device("sda")};
    {
        auto j = tune::Journal::open(state.path(), "test");
        ASSERT_TRUE(j) << j.error().message;
        ASSERT_TRUE(j->original(knob, "sda read_ahead_kb", "diskseq 1", "128"));
        auto first =
            j->change({knob, "block-io", "128", "512", "sequential reads", "", "", "", {}});
        ASSERT_TRUE(first);
        ASSERT_TRUE(j->done(*first, std::string("512")));
        auto second =
            j->change({knob, "block-io", "512", "1024", "still sequential", "", "", "", {}});
        ASSERT_TRUE(second);
        ASSERT_TRUE(j->done(*second, std::string("1024")));
        // The first change's verdict arrives after the second was made.
        ASSERT_TRUE(j->outcome(*first, tune::Outcome::kept, "throughput up 30 %"));
        ASSERT_TRUE(j->outcome(*second, tune::Outcome::reverted, "no gain"));
    }
    auto journal = tune::Journal::load(state.path());
    ASSERT_TRUE(journal) << journal.error().message;
    // The daemon's auto-tune made the second for an alert (its record in incidents.jsonl).
    ASSERT_EQ(journal->history.size(), 2u);
    const std::vector<std::string> records = {
        tune_record(
            journal->history[1].changed_unix_ms,
            {{"alert", {{"rule", "disk_busy"}, {"object", {{"device", "sda"}}}, {"starts_ms", 1}}}},
            journal->history[1])
            .dump()};
    const Report r = build(&*journal, &records);
    ASSERT_EQ(r.tune_changes.size(), 2u);
    EXPECT_EQ(r.tune_changes[0].trigger, "");
    EXPECT_EQ(r.tune_changes[1].trigger, "alert disk_busy {device=sda}");
    EXPECT_NE(report_markdown(r).find("| alert disk_busy {device=sda} |"), std::string::npos)
        << report_markdown(r);
    EXPECT_EQ(r.tune_changes[0].to, "512");
    EXPECT_EQ(r.tune_changes[0].outcome, "kept");
    EXPECT_EQ(r.tune_changes[0].detail, "throughput up 30 %");
    EXPECT_EQ(r.tune_changes[1].to, "1024");
    EXPECT_EQ(r.tune_changes[1].outcome, "reverted");
    EXPECT_EQ(r.tune_changes[1].knob, "sda read_ahead_kb");
}

// The daemon's incidents overlapping the range, with their series and evidence, in every
// format; one that closed before the range is not.
TEST_F(ReportTest, IncidentsOfTheRangeWithTheirEvidence) {
    auto at = [&](int64_t min) { return std::to_string(t0_ + min * kMin); };
    const std::string peak =
        R"({"observed":95,"expected":2,"band_low":0,"band_high":5,"score":12.5,"seasonal":false})";
    const std::vector<std::string> records = {
        R"({"event":"incident","ts":)" + at(-120) +
            R"(,"change":"closed","id":"r1-1","start_ms":)" + at(-130) + R"(,"end_ms":)" +
            at(-120) + R"(,"score":7,"resource":"io","series":[]})",
        R"({"event":"incident","ts":)" + at(20) + R"(,"change":"opened","id":"r1-2","start_ms":)" +
            at(20) +
            R"(,"end_ms":0,"score":12.5,"resource":"cpu","series":[{"metric":"cpu_pct","labels":{"comm":"spin","pid":"812"},"kind":"gauge","start_ms":)" +
            at(20) + R"(,"active":true,"peak":)" + peak + R"(,"latest":)" + peak + "}]}",
        R"({"event":"evidence","ts":)" + at(21) +
            R"(,"incident":"r1-2","evidence":{"resource":"cpu","from_ms":)" + at(20) +
            R"(,"to_ms":)" + at(21) +
            R"(,"intervals":5,"rankings":[{"object":"process","measure":"cpu","unit":"pct","how":"mean","top":[{"labels":{"comm":"spin","pid":"812"},"value":95,"intervals":5}]}]}})",
    };
    ReportOptions o;
    o.from_ms = t0_;
    o.to_ms = t0_ + 3'600'000;
    o.now_ms = o.to_ms;
    o.incident_records = &records;
    auto r = build_report(*history_, o, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->incidents.size(), 1u);
    const ReportIncident& i = r->incidents[0];
    EXPECT_EQ(i.id, "r1-2");
    EXPECT_EQ(i.resource, "cpu");
    EXPECT_EQ(i.end_ms, 0);
    ASSERT_EQ(i.series.size(), 1u);
    EXPECT_NE(i.series[0].find("cpu_pct{comm=spin,pid=812}: observed 95"), std::string::npos)
        << i.series[0];
    ASSERT_EQ(i.evidence.size(), 1u);
    EXPECT_NE(i.evidence[0].find("process by cpu"), std::string::npos) << i.evidence[0];
    EXPECT_NE(i.evidence[0].find("pid=812"), std::string::npos) << i.evidence[0];
    const auto j = report_json(*r);
    ASSERT_EQ(j["incidents"].size(), 1u);
    EXPECT_TRUE(j["incidents"][0]["end"].is_null());
    EXPECT_NE(report_markdown(*r).find("| r1-2 | cpu |"), std::string::npos);
    EXPECT_NE(report_html(*r).find("<td>r1-2</td>"), std::string::npos);
}

TEST_F(ReportTest, EmptyRangeHasNoIntervals) {
    ReportOptions o;
    o.from_ms = t0_ - 86'400'000;
    o.to_ms = t0_;
    o.now_ms = t0_;
    auto r = build_report(*history_, o, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->intervals, 0u);
    EXPECT_TRUE(r->resources.empty());
}

TEST(ReportStats, NearestRankP95AndWeightedAverage) {
    ResourceStats r;
    std::vector<StepValue> steps;
    for (int i = 1; i <= 20; ++i)
        steps.push_back({i * kMin, double(i), double(i) + 1, i == 20 ? 2u : 1u});
    fill_stats(r, steps);
    EXPECT_DOUBLE_EQ(r.p95, 19);  // ceil(0.95 * 20) = 19th
    EXPECT_DOUBLE_EQ(r.max, 21);
    EXPECT_DOUBLE_EQ(r.avg, (210.0 + 20) / 21);
    EXPECT_EQ(r.intervals, 21u);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// A filesystem filling at a steady rate for three days, less than a day short of full: the report
// over the last day says when it fills, from the forecast command's method.
TEST(ReportForecasts, AFillingFilesystemIsInTheReport) {
    test::StateDir dir;
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() /
                        kMin * kMin;
    constexpr int64_t kStep = 10 * kMin;
    constexpr double kGiB = 1024.0 * 1024 * 1024;
    const int64_t t0 = now - 3 * 86'400'000;
    const Labels fs = {{"device", "vda1"}, {"mountpoint", "/"}};
    const SeriesId used = h->intern({"fs_used_bytes", fs}, MetricKind::level);
    const SeriesId size = h->intern({"fs_size_bytes", fs}, MetricKind::level);
    const SeriesId clock = h->intern({"cpu_busy_pct", {}}, MetricKind::gauge);
    for (int64_t t = t0; t < now; t += kStep) {
        // 10 GiB a day, 30 GiB at `now`: the 38 GiB filesystem is full 19.2 h later.
        const double days = static_cast<double>(t - t0) / 86'400'000.0;
        std::vector<std::pair<SeriesId, double>> v = {
            {used, 10 * days * kGiB}, {size, 38 * kGiB}, {clock, 5}};
        ASSERT_TRUE(h->append(t, v, {}));
    }
    ASSERT_TRUE(h->flush());
    ReportOptions o;
    o.from_ms = now - 86'400'000;
    o.to_ms = now;
    o.now_ms = now;
    auto r = build_report(*h, o, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->forecasts.size(), 1u);
    const ReportForecast& f = r->forecasts[0];
    EXPECT_EQ(f.metric, "fs_used_bytes");
    EXPECT_EQ(f.labels, fs);
    ASSERT_TRUE(f.forecast) << f.outlook;
    ASSERT_TRUE(f.eta_ms) << f.outlook;
    EXPECT_NEAR(static_cast<double>(*f.eta_ms) / 3.6e6, 19.2, 2.0) << f.outlook;
    EXPECT_NE(f.outlook.find("vda1 full"), std::string::npos) << f.outlook;
    EXPECT_EQ(r->forecast_horizon_ms, 86'400'000);
}

}  // namespace
}  // namespace perfbpf

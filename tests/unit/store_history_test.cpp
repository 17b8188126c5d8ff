#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/selector.h"
#include "store/history.h"
#include "store_test_support.h"

namespace perfbpf {
namespace {

using test::kT0;

// Every series has every point, with the value it was written with.
void expect_all_points(History& h, size_t nseries, int64_t from, int64_t to) {
    auto res = h.query(test::all_cpu(), from, to - 1, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), nseries);
    for (const auto& s : *res) {
        size_t i = std::stoul(s.key.labels.at(0).second) - 1000;
        ASSERT_EQ(s.points.size(), static_cast<size_t>((to - from) / 1000))
            << s.key.labels[0].second;
        for (size_t p = 0; p < s.points.size(); ++p) {
            int64_t ts = from + static_cast<int64_t>(p) * 1000;
            ASSERT_EQ(s.points[p].ts_ms, ts);
            ASSERT_EQ(s.points[p].value, test::synthetic_value(i, ts)) << "series " << i;
        }
    }
}

TEST(StoreHistory, ThreeHoursOfTwentySeriesSurviveReopen) {
    test::StateDir dir;
    const int64_t end = kT0 + 3 * 3'600'000;
    {
        auto h = History::open(dir.path());
        ASSERT_TRUE(h) << h.error().message;
        auto ids = test::intern_synthetic(*h, 20);
        test::append_synthetic(*h, ids, kT0, end);
        EXPECT_EQ(h->dropped_intervals(), 0u);
        EXPECT_EQ(h->deferred_failures(), 0u);
        expect_all_points(*h, 20, kT0, end);
        // Two complete hours went into chunks, the third is still one head row a second.
        EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 0"), 40);
        EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM head"), 3600);
    }
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_TRUE(h->notes().empty());
    expect_all_points(*h, 20, kT0, end);
    // The series table came back: interning an existing key gives its old id.
    auto again = h->intern({"cpu_pct", {{"pid", "1000"}}}, MetricKind::counter);
    EXPECT_EQ(again, 1u);
    // And appending continues where it stopped, through flush into chunks.
    std::vector<SeriesId> ids = test::intern_synthetic(*h, 20);
    test::append_synthetic(*h, ids, end, end + 10'000);
    ASSERT_TRUE(h->flush());
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM head"), 0);
    expect_all_points(*h, 20, kT0, end + 10'000);
    EXPECT_LT(h->bytes_on_disk(), 2'000'000u);
}

TEST(StoreHistory, KilledWriterLosesNoInterval) {
    test::StateDir dir;
    const int64_t end = kT0 + 3'600'000 + 1800 * 1000;  // a compaction and a half-full head
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        auto h = History::open(dir.path());
        if (!h) _exit(2);
        auto ids = test::intern_synthetic(*h, 20);
        std::vector<std::pair<SeriesId, double>> values(ids.size());
        for (int64_t ts = kT0; ts < end; ts += 1000) {
            for (size_t i = 0; i < ids.size(); ++i)
                values[i] = {ids[i], test::synthetic_value(i, ts)};
            if (!h->append(ts, values, {})) _exit(3);
        }
        raise(SIGKILL);  // no flush, no destructors
        _exit(4);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    expect_all_points(*h, 20, kT0, end);
}

TEST(StoreHistory, HistogramsAndMixedIntervalsRoundTrip) {
    test::StateDir dir;
    auto h = History::open(dir.path());
    ASSERT_TRUE(h);
    std::vector<SeriesSample> samples(2);
    samples[0].key = {"runq_lat_us", {{"cgroup", "/a \"b\""}}};
    samples[0].kind = MetricKind::histogram;
    samples[1].key = {"rss_bytes", {}};
    samples[1].kind = MetricKind::level;
    const int64_t n = 7300;  // crosses a raw chunk span
    for (int64_t s = 0; s < n; ++s) {
        samples[0].hist = Log2Histogram{};
        samples[0].hist.add_us(static_cast<uint64_t>(10 + s % 50), 3);
        samples[1].value = static_cast<double>(1 << 20) + static_cast<double>(s / 100);
        ASSERT_TRUE(h->append(kT0 + s * 1000, samples));
    }
    auto res = h->query(*parse_selector(R"({cgroup="/a \"b\""})"), kT0, kT0 + n * 1000, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 1u);
    ASSERT_EQ((*res)[0].points.size(), static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s) {
        Log2Histogram want;
        want.add_us(static_cast<uint64_t>(10 + s % 50), 3);
        ASSERT_EQ((*res)[0].hists.at(static_cast<size_t>(s)), want) << s;
    }
    auto rss = h->query(*parse_selector("rss_bytes"), kT0, kT0 + n * 1000, 0);
    ASSERT_TRUE(rss);
    ASSERT_EQ((*rss)[0].points.size(), static_cast<size_t>(n));
    EXPECT_EQ((*rss)[0].points.back().value, (1 << 20) + (n - 1) / 100);
}

TEST(StoreHistory, RejectsTimeGoingBackwardsAndUnknownIds) {
    test::StateDir dir;
    auto h = History::open(dir.path());
    ASSERT_TRUE(h);
    auto ids = test::intern_synthetic(*h, 1);
    std::pair<SeriesId, double> v{ids[0], 1};
    ASSERT_TRUE(h->append(kT0, {&v, 1}, {}));
    auto back = h->append(kT0, {&v, 1}, {});
    ASSERT_FALSE(back);
    EXPECT_NE(back.error().message.find("not after the last stored one"), std::string::npos);
    std::pair<SeriesId, double> bad{99, 1};
    EXPECT_FALSE(h->append(kT0 + 1000, {&bad, 1}, {}));
    EXPECT_EQ(h->dropped_intervals(), 0u);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// A series not appended to for 15 minutes leaves the writer's memory (a host makes
// hundreds of thousands of short-lived process series over days), yet queries still find
// its points and interning its key again gives back its id.
TEST(StoreHistory, IdleSeriesKeysLeaveMemoryNotTheStore) {
    test::StateDir dir;
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    const SeriesKey gone{"cpu_pct", {{"comm", "build"}, {"pid", "77"}}};
    const SeriesKey stays{"cpu_pct", {{"comm", "daemon"}, {"pid", "1"}}};
    SeriesId gone_id = h->intern(gone, MetricKind::gauge);
    SeriesId stays_id = h->intern(stays, MetricKind::gauge);
    for (int64_t t = 0; t < 60; ++t) {
        std::vector<std::pair<SeriesId, double>> v{{gone_id, 10.0 + t}, {stays_id, 1.0}};
        ASSERT_TRUE(h->append(kT0 + t * 1000, v, {}));
    }
    EXPECT_EQ(h->resident_series(), 2u);
    // Twenty minutes of the other series alone, one interval a second.
    for (int64_t t = 60; t < 20 * 60; ++t) {
        std::vector<std::pair<SeriesId, double>> v{{stays_id, 1.0}};
        ASSERT_TRUE(h->append(kT0 + t * 1000, v, {}));
    }
    EXPECT_EQ(h->resident_series(), 1u);

    auto sel = parse_selector("cpu_pct{comm=\"build\"}");
    ASSERT_TRUE(sel);
    auto res = h->query(*sel, kT0, kT0 + 20 * 60'000, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 1u);
    EXPECT_EQ((*res)[0].key, gone);
    ASSERT_EQ((*res)[0].points.size(), 60u);
    EXPECT_EQ((*res)[0].points[59].value, 69.0);

    // The process comes back into a top list: same series, same id, and it is resident
    // again.
    EXPECT_EQ(h->intern(gone, MetricKind::gauge), gone_id);
    EXPECT_EQ(h->resident_series(), 2u);
    std::vector<std::pair<SeriesId, double>> v{{gone_id, 5.0}, {stays_id, 1.0}};
    ASSERT_TRUE(h->append(kT0 + 20 * 60'000, v, {}));
    EXPECT_EQ(test::stored_series(dir), 2);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// A reader kept open while the writer goes on (the dashboard, top --history): its queries
// see series made after it opened, and points that compaction moved from the head into
// chunks after it opened.
TEST(StoreHistory, AReaderKeptOpenSeesNewSeriesAndCompactedPoints) {
    test::StateDir dir;
    auto w = History::open(dir.path());
    ASSERT_TRUE(w) << w.error().message;
    const SeriesId a = w->intern({"cpu_pct", {{"pid", "1"}}}, MetricKind::gauge);
    for (int64_t t = 0; t < 30; ++t) {
        std::vector<std::pair<SeriesId, double>> v{{a, 1.0 * t}};
        ASSERT_TRUE(w->append(kT0 + t * 1000, v, {}));
    }
    auto r = History::open_existing(dir.path());
    ASSERT_TRUE(r) << r.error().message;
    // The writer adds a series and runs past an hour boundary (compacting the head), then
    // flushes the rest into chunks.
    const SeriesId b = w->intern({"cpu_pct", {{"pid", "2"}}}, MetricKind::gauge);
    for (int64_t t = 30; t < 3700; ++t) {
        std::vector<std::pair<SeriesId, double>> v{{a, 1.0 * t}, {b, 2.0}};
        ASSERT_TRUE(w->append(kT0 + t * 1000, v, {}));
    }
    ASSERT_TRUE(w->flush());
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM head"), 0);

    auto sel = parse_selector("cpu_pct");
    ASSERT_TRUE(sel);
    auto res = r->query(*sel, kT0, kT0 + 3700 * 1000, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 2u);
    EXPECT_EQ((*res)[0].points.size(), 3700u);
    EXPECT_EQ((*res)[0].points[3699].value, 3699.0);
    EXPECT_EQ((*res)[1].points.size(), 3670u);
}

}  // namespace
}  // namespace perfbpf

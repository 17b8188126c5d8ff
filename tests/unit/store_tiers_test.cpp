#include <gtest/gtest.h>

#include <map>

#include "store/history.h"
#include "store_test_support.h"

namespace perfbpf {
namespace {

using test::kT0;

constexpr int64_t kEvery = 10'000;  // one interval every 10 s keeps two days quick to write
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 86'400'000;

// Spans small enough that two days complete both coarser tiers.
HistoryOptions small_spans() {
    HistoryOptions o;
    o.chunk_ms = {600'000, kHour, kDay};
    return o;
}

struct Expected {
    double min = 1e300, max = -1e300, sum = 0, last = 0;
    uint64_t count = 0;
};

// What a step over the synthetic series must hold, computed from its definition.
std::map<int64_t, Expected> expected(size_t i, int64_t from, int64_t to, int64_t step) {
    std::map<int64_t, Expected> out;
    for (int64_t ts = from; ts < to; ts += kEvery) {
        double v = test::synthetic_value(i, ts);
        auto& e = out[ts - ts % step];
        e.min = std::min(e.min, v);
        e.max = std::max(e.max, v);
        e.sum += v;
        e.last = v;
        ++e.count;
    }
    return out;
}

void expect_steps(History& h, int64_t from, int64_t to, int64_t step, Tier tier) {
    auto res = h.query(test::all_cpu(), from, to - 1, step);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 4u);
    for (const auto& s : *res) {
        EXPECT_EQ(s.tier, tier);
        size_t i = std::stoul(s.key.labels.at(0).second) - 1000;
        auto want = expected(i, from, to, step);
        ASSERT_EQ(s.points.size(), want.size()) << "step " << step;
        size_t p = 0;
        for (const auto& [ts, e] : want) {
            const auto& got = s.points[p++];
            ASSERT_EQ(got.ts_ms, ts) << "step " << step;
            ASSERT_EQ(got.count, e.count) << "step " << step << " at " << ts;
            ASSERT_EQ(got.sum, e.sum) << "step " << step << " at " << ts;
            ASSERT_EQ(got.min, e.min);
            ASSERT_EQ(got.max, e.max);
            ASSERT_EQ(got.last, e.last);
            double value = s.kind == MetricKind::counter ? e.sum : e.sum / e.count;
            ASSERT_DOUBLE_EQ(got.value, value);
        }
    }
}

class StoreTiers : public ::testing::Test {
  protected:
    void SetUp() override {
        auto h = History::open(dir.path(), small_spans());
        ASSERT_TRUE(h) << h.error().message;
        history.emplace(std::move(*h));
        ids = test::intern_synthetic(*history, 4);
        test::append_synthetic(*history, ids, kT0, end, kEvery);
    }
    test::StateDir dir;
    std::optional<History> history;
    std::vector<SeriesId> ids;
    const int64_t end = kT0 + 2 * kDay + 5 * kHour + 17 * kEvery;
};

TEST_F(StoreTiers, EveryStepAggregatesExactlyFromTheTierThatFitsIt) {
    EXPECT_GT(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 1"), 0);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 2"), 4 * 2);
    EXPECT_EQ(history->deferred_failures(), 0u);
    // The ranges span rolled-up days, hours only in the minute tier, raw-only chunks and
    // the head, so each answer stitches tiers together.
    expect_steps(*history, kT0, end, kEvery, Tier::raw);
    expect_steps(*history, kT0, end, 30'000, Tier::raw);
    expect_steps(*history, kT0, end, 60'000, Tier::minute);
    expect_steps(*history, kT0, end, 300'000, Tier::minute);
    expect_steps(*history, kT0, end, kHour, Tier::hour);
    expect_steps(*history, kT0, end, kDay, Tier::hour);
    // A range inside one day, at hour steps, not aligned to the tier's chunks.
    expect_steps(*history, kT0 + 3 * kHour, kT0 + 30 * kHour, kHour, Tier::hour);
}

TEST_F(StoreTiers, RollupSurvivesReopenAndContinues) {
    history.reset();
    auto h = History::open(dir.path(), small_spans());
    ASSERT_TRUE(h);
    auto more = test::intern_synthetic(*h, 4);
    const int64_t later = end + kDay;
    test::append_synthetic(*h, more, end, later, kEvery);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 2"), 4 * 3);
    expect_steps(*h, kT0, later, kHour, Tier::hour);
}

TEST_F(StoreTiers, HistogramsMergeSlotsAcrossTiers) {
    history.reset();
    test::StateDir hdir;
    auto h = History::open(hdir.path(), small_spans());
    ASSERT_TRUE(h);
    SeriesId id = h->intern({"runq_lat_us", {}}, MetricKind::histogram);
    Log2Histogram day1;
    const int64_t stop = kT0 + kDay + 2 * kHour;
    for (int64_t ts = kT0; ts < stop; ts += kEvery) {
        Log2Histogram x;
        x.add_us(100, 99);
        if ((ts / kEvery) % 100 == 0) x.add_us(10'000, 10);  // rare slow wakeups
        if (ts < kT0 + kDay) day1.merge(x);
        std::pair<SeriesId, const Log2Histogram*> e{id, &x};
        ASSERT_TRUE(h->append(ts, {}, {&e, 1}));
    }
    auto res = h->query(*parse_selector("runq_lat_us"), kT0, kT0 + kDay - 1, kDay);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 1u);
    ASSERT_EQ((*res)[0].points.size(), 1u);
    const auto& p = (*res)[0].points[0];
    EXPECT_EQ((*res)[0].tier, Tier::hour);
    ASSERT_EQ((*res)[0].hists.size(), 1u);
    EXPECT_EQ((*res)[0].hists[0], day1);
    EXPECT_EQ(p.count, static_cast<uint64_t>(kDay / kEvery));
    EXPECT_DOUBLE_EQ(p.p99_us, day1.percentile_us(0.99));
    EXPECT_DOUBLE_EQ(p.value, p.p99_us);
}

TEST_F(StoreTiers, RetentionByAgeDropsEachTierAtItsOwnAge) {
    HistoryOptions o = small_spans();
    o.retention_ms = {kDay, 2 * kDay, 30 * kDay};
    ASSERT_TRUE(history->set_options(o));
    ASSERT_TRUE(history->enforce_retention(end));
    // Raw keeps only chunks that end within the last day; minute the last two days.
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 0 AND end_ms < " +
                                       std::to_string(end - kDay)),
              0);
    EXPECT_GT(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 0"), 0);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 1 AND end_ms < " +
                                       std::to_string(end - 2 * kDay)),
              0);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 2"), 4 * 2);
    // Old raw points are gone, the day is still there at hour steps.
    auto raw = history->query(test::all_cpu(), kT0, kT0 + kHour, 0);
    ASSERT_TRUE(raw);
    EXPECT_TRUE((*raw)[0].points.empty());
    expect_steps(*history, kT0, kT0 + kDay, kHour, Tier::hour);
}

TEST_F(StoreTiers, BudgetDropsTheOldestRolledUpRawChunksFirst) {
    ASSERT_TRUE(history->flush());
    int64_t raw_before = test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 0");
    int64_t minute_before = test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 1");
    int64_t oldest_before = test::db_scalar(dir, "SELECT min(start_ms) FROM chunks WHERE tier = 0");
    int64_t pages = test::db_scalar(dir, "PRAGMA page_count");
    int64_t page_size = test::db_scalar(dir, "PRAGMA page_size");
    HistoryOptions o = small_spans();
    o.budget_bytes = static_cast<uint64_t>(pages * page_size * 2 / 3);
    ASSERT_TRUE(history->set_options(o));
    uint64_t disk_before = history->bytes_on_disk();
    ASSERT_TRUE(history->enforce_retention(end));
    int64_t raw_after = test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 0");
    EXPECT_LT(raw_after, raw_before);
    EXPECT_GT(raw_after, 0);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 1"), minute_before);
    EXPECT_GT(test::db_scalar(dir, "SELECT min(start_ms) FROM chunks WHERE tier = 0"),
              oldest_before);
    int64_t live =
        test::db_scalar(dir, "PRAGMA page_count") - test::db_scalar(dir, "PRAGMA freelist_count");
    EXPECT_LE(static_cast<uint64_t>(live * page_size), o.budget_bytes);
    EXPECT_LE(history->bytes_on_disk(), disk_before);
    // What the budget took is still answered by the minute tier.
    expect_steps(*history, kT0, kT0 + kDay, 60'000, Tier::minute);
}

}  // namespace
}  // namespace perfbpf

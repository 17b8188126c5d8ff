// Members stored as a function of a histogram of their group (derived_member.h): found only
// where every point matches, and decoded to exactly what the member held.
#include "store/derived_member.h"

#include <gtest/gtest.h>

#include <bit>
#include <random>

#include "model/series_extract.h"
#include "store_test_support.h"

namespace perfbpf::store {
namespace {

constexpr int64_t kStart = 1'796'440'320'000;

// A busy process's run-queue histogram: a dozen slots of tens to hundreds, some empty.
std::vector<Log2Histogram> busy_hists(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Log2Histogram> out(n);
    for (size_t i = 0; i < n; ++i)
        if (i % 9 != 4)
            for (size_t s = 0; s < 17; ++s)
                if (rng() % 4) out[i].add_slot(s, rng() % (s == 0 ? 400 : 120));
    return out;
}

std::string member(const std::vector<double>& v, const std::vector<Log2Histogram>* h,
                   int decimals) {
    ChunkEncoder enc(h ? 0 : 1, h != nullptr, decimals);
    for (size_t i = 0; i < (h ? h->size() : v.size()); ++i)
        enc.add(kStart + static_cast<int64_t>(i) * 1000,
                h ? std::span<const double>() : std::span<const double>(&v[i], 1),
                h ? &(*h)[i] : nullptr);
    return enc.finish_raw();
}

void expect_same_points(const ChunkPoints& a, const ChunkPoints& b) {
    EXPECT_EQ(a.ts, b.ts);
    ASSERT_EQ(a.columns.size(), b.columns.size());
    for (size_t c = 0; c < a.columns.size(); ++c) {
        ASSERT_EQ(a.columns[c].size(), b.columns[c].size());
        for (size_t i = 0; i < a.columns[c].size(); ++i)
            ASSERT_EQ(std::bit_cast<uint64_t>(a.columns[c][i]),
                      std::bit_cast<uint64_t>(b.columns[c][i]))
                << "column " << c << " point " << i;
    }
    EXPECT_EQ(a.hists, b.hists);
}

TEST(StoreDerivedMember, CountAndP99OfAHistogramAreStoredAsReferencesAndDecodeExactly) {
    const int p99_decimals = stored_decimals("runq_lat_p99_us");
    auto hists = busy_hists(600, 1);
    std::vector<double> waits, p99, other, almost;
    for (const auto& h : hists) {
        waits.push_back(static_cast<double>(h.count()));
        p99.push_back(h.percentile_us(0.99));  // as finalize_snapshot computes it
        other.push_back(static_cast<double>(h.count() * 3));
    }
    almost = waits;
    almost[517] += 1;  // one point off: stored as it is
    std::vector<ChunkGroupMember> members{
        {1, member({}, &hists, kAllDecimals)},      {2, member(waits, nullptr, kAllDecimals)},
        {3, member(p99, nullptr, p99_decimals)},    {4, member(other, nullptr, kAllDecimals)},
        {5, member(almost, nullptr, kAllDecimals)},
    };
    const auto before = members;
    derive_members(members, [&](uint32_t id) { return id == 3 ? p99_decimals : kAllDecimals; }, {});
    EXPECT_EQ(members[0].raw, before[0].raw);
    EXPECT_LT(members[1].raw.size(), 8u);
    EXPECT_LT(members[2].raw.size(), 8u);
    EXPECT_EQ(members[3].raw, before[3].raw);
    EXPECT_EQ(members[4].raw, before[4].raw);

    auto blob = encode_chunk_group(members);
    ASSERT_TRUE(blob);
    auto group = decode_chunk_group(*blob);
    ASSERT_TRUE(group) << group.error().message;
    ASSERT_EQ(group->entries.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) {
        auto got = decode_group_member(*group, group->entries[i], {});
        ASSERT_TRUE(got) << got.error().message;
        auto want = decode_raw_chunk(before[i].raw);
        ASSERT_TRUE(want);
        expect_same_points(*got, *want);
    }
}

// Only a histogram of the same timestamps is a source, and a reference whose histogram is
// gone is an error, not zeros.
TEST(StoreDerivedMember, OtherTimestampsOrAMissingSourceAreNotDerived) {
    auto hists = busy_hists(50, 2);
    std::vector<double> waits;
    for (const auto& h : hists) waits.push_back(static_cast<double>(h.count()));
    waits.pop_back();
    std::vector<ChunkGroupMember> members{{1, member({}, &hists, kAllDecimals)},
                                          {2, member(waits, nullptr, kAllDecimals)}};
    auto before = members;
    derive_members(members, [](uint32_t) { return kAllDecimals; }, {});
    EXPECT_EQ(members[1].raw, before[1].raw);

    waits.push_back(static_cast<double>(hists.back().count()));
    members[1].raw = member(waits, nullptr, kAllDecimals);
    derive_members(members, [](uint32_t) { return kAllDecimals; }, {});
    ASSERT_LT(members[1].raw.size(), 8u);
    std::vector<ChunkGroupMember> orphan{members[1]};
    auto group = decode_chunk_group(*encode_chunk_group(orphan));
    ASSERT_TRUE(group);
    auto got = decode_group_member(*group, group->entries[0], {});
    ASSERT_FALSE(got);
    EXPECT_NE(got.error().message.find("series 1"), std::string::npos) << got.error().message;
}

// The frozen p99 is today's Log2Histogram::percentile_us(0.99): when this fails the model's
// percentile changed, and new chunks stop being derived (old ones still decode as written).
TEST(StoreDerivedMember, FrozenP99IsTheModelsPercentile) {
    for (const auto& h : busy_hists(300, 3))
        EXPECT_EQ(derive(h, Derivation::p99, kAllDecimals), h.percentile_us(0.99));
    Log2Histogram one;
    one.add_slot(0, 1);
    EXPECT_EQ(derive(one, Derivation::p99, kAllDecimals), one.percentile_us(0.99));
    EXPECT_EQ(derive(Log2Histogram{}, Derivation::p99, 1), 0.0);
}

// Through the store: a process's histogram, its count and p99 as the daemon writes them,
// compacted, rolled up and read back point for point.
TEST(StoreDerivedMember, HistoryReadsDerivedSeriesBackExactly) {
    test::StateDir dir;
    HistoryOptions opt;
    opt.chunk_ms = {600'000, 3'600'000, 86'400'000};  // the first hour rolls up to minutes
    auto h = History::open(dir.path(), opt);
    ASSERT_TRUE(h) << h.error().message;
    Labels labels{{"comm", "a"}, {"pid", "1"}};
    SeriesId hist_id = h->intern({"runq_hist", labels}, MetricKind::histogram);
    SeriesId waits_id = h->intern({"runq_waits", labels}, MetricKind::counter);
    SeriesId p99_id = h->intern({"runq_lat_p99_us", labels}, MetricKind::gauge);
    auto hists = busy_hists(4000, 4);
    const int64_t t0 = test::kT0;
    for (size_t i = 0; i < hists.size(); ++i) {
        std::vector<std::pair<SeriesId, double>> v{
            {waits_id, static_cast<double>(hists[i].count())},
            {p99_id, hists[i].percentile_us(0.99)}};
        std::vector<std::pair<SeriesId, const Log2Histogram*>> hv{{hist_id, &hists[i]}};
        ASSERT_TRUE(h->append(t0 + static_cast<int64_t>(i) * 1000, v, hv));
    }
    ASSERT_TRUE(h->flush());
    // Every raw group holds the two as references.
    {
        auto db = Db::open(dir.db());
        ASSERT_TRUE(db);
        auto rows = db->prepare("SELECT blob FROM chunks WHERE tier = 0", "test");
        ASSERT_TRUE(rows);
        int groups = 0;
        while (*rows->step()) {
            auto g = decode_chunk_group(rows->blob(0));
            ASSERT_TRUE(g);
            ++groups;
            for (const auto& e : g->entries) {
                if (e.series_id == hist_id) continue;
                EXPECT_LT(e.size, 8u) << "series " << e.series_id;
            }
        }
        EXPECT_EQ(groups, 7);
    }
    auto waits = h->query(*parse_selector("runq_waits"), t0, t0 + 5'000'000, 0);
    auto p99 = h->query(*parse_selector("runq_lat_p99_us"), t0, t0 + 5'000'000, 0);
    ASSERT_TRUE(waits && p99);
    ASSERT_EQ(waits->size(), 1u);
    ASSERT_EQ(p99->size(), 1u);
    ASSERT_EQ((*waits)[0].points.size(), hists.size());
    ASSERT_EQ((*p99)[0].points.size(), hists.size());
    for (size_t i = 0; i < hists.size(); ++i) {
        ASSERT_EQ((*waits)[0].points[i].value, static_cast<double>(hists[i].count())) << i;
        ASSERT_EQ((*p99)[0].points[i].value, std::nearbyint(hists[i].percentile_us(0.99) * 10) / 10)
            << i;
    }
    // The minute tier (rolled up from the references) sums them like stored counts.
    auto minutes = h->query(*parse_selector("runq_waits"), t0, t0 + 3'600'000 - 1, 60'000);
    ASSERT_TRUE(minutes);
    ASSERT_EQ(minutes->size(), 1u);
    ASSERT_EQ((*minutes)[0].tier, Tier::minute);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 1"), 1);
    ASSERT_EQ((*minutes)[0].points.size(), 60u);
    for (size_t m = 0; m < 60; ++m) {
        double sum = 0;
        for (size_t i = m * 60; i < m * 60 + 60; ++i) sum += static_cast<double>(hists[i].count());
        ASSERT_EQ((*minutes)[0].points[m].sum, sum) << "minute " << m;
    }
}

}  // namespace
}  // namespace perfbpf::store

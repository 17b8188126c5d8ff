#include "store/chunk_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "model/series_extract.h"
#include "store/varint.h"

namespace perfbpf::store {
namespace {

// Encodes one column (and optional hists) at the given timestamps and decodes it back.
ChunkPoints round_trip(const std::vector<int64_t>& ts, const std::vector<double>& values,
                       const std::vector<Log2Histogram>* hists = nullptr) {
    ChunkEncoder enc(values.empty() ? 0 : 1, hists != nullptr);
    for (size_t i = 0; i < ts.size(); ++i) {
        std::span<const double> v;
        if (!values.empty()) v = std::span<const double>(&values[i], 1);
        enc.add(ts[i], v, hists ? &(*hists)[i] : nullptr);
    }
    auto blob = enc.finish();
    EXPECT_TRUE(blob);
    auto back = decode_chunk(*blob);
    EXPECT_TRUE(back) << back.error().message;
    return *back;
}

void expect_bits_equal(const std::vector<double>& a, const std::vector<double>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint64_t>(a[i]), std::bit_cast<uint64_t>(b[i])) << "point " << i;
}

std::vector<int64_t> regular_ts(size_t n, int64_t start = 1'796'440'320'000, int64_t step = 1000) {
    std::vector<int64_t> ts;
    for (size_t i = 0; i < n; ++i) ts.push_back(start + static_cast<int64_t>(i) * step);
    return ts;
}

TEST(StoreChunkCodec, RandomDoublesWithSpecialValuesRoundTripBitExact) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> d(-1e6, 1e6);
    std::vector<double> v;
    for (int i = 0; i < 2000; ++i) v.push_back(d(rng));
    v.push_back(std::numeric_limits<double>::quiet_NaN());
    v.push_back(std::numeric_limits<double>::infinity());
    v.push_back(-std::numeric_limits<double>::infinity());
    v.push_back(-0.0);
    v.push_back(std::numeric_limits<double>::denorm_min());
    v.push_back(std::numeric_limits<double>::max());
    v.push_back(std::bit_cast<double>(rng()));  // arbitrary bits, maybe a NaN with payload
    std::vector<int64_t> ts;
    for (size_t i = 0; i < v.size(); ++i)
        ts.push_back(1000 * static_cast<int64_t>(i) + static_cast<int64_t>(rng() % 7) - 3);
    auto back = round_trip(ts, v);
    EXPECT_EQ(back.ts, ts);
    ASSERT_EQ(back.columns.size(), 1u);
    expect_bits_equal(back.columns[0], v);
}

TEST(StoreChunkCodec, IntegersNegativeLargeAndConstant) {
    std::vector<double> ints = {0, -1, 5, -9007199254740992.0, 9007199254740992.0, 3, 3, 3, -7};
    auto back = round_trip(regular_ts(ints.size()), ints);
    expect_bits_equal(back.columns[0], ints);

    std::vector<double> constant(3600, 42);
    auto c = round_trip(regular_ts(constant.size()), constant);
    expect_bits_equal(c.columns[0], constant);

    // One non-integer late in the chunk switches the whole column to XOR.
    std::vector<double> mixed(100, 7);
    mixed[99] = 7.5;
    auto m = round_trip(regular_ts(mixed.size()), mixed);
    expect_bits_equal(m.columns[0], mixed);
}

TEST(StoreChunkCodec, NoisyPageMultiplesAndIntervalHistogramsRoundTrip) {
    std::mt19937_64 rng(3);
    std::vector<double> pages;
    for (int i = 0; i < 1000; ++i) pages.push_back(4096.0 * static_cast<double>(rng() % 256));
    pages.push_back(-8192);
    auto back = round_trip(regular_ts(pages.size()), pages);
    expect_bits_equal(back.columns[0], pages);

    std::vector<Log2Histogram> hists(1000);
    for (size_t i = 0; i < hists.size(); i += 4) hists[i].add_us(rng() % 500, 1 + rng() % 40);
    auto h = round_trip(regular_ts(hists.size()), {}, &hists);
    EXPECT_EQ(h.hists, hists);
}

TEST(StoreChunkCodec, IrregularAndNegativeTimestamps) {
    std::vector<int64_t> ts = {-5000, -4000, 0, 1, 100000, 100001, 1'796'440'320'000};
    std::vector<double> v(ts.size(), 1);
    EXPECT_EQ(round_trip(ts, v).ts, ts);
}

TEST(StoreChunkCodec, HistogramsRoundTripWithRollupColumns) {
    std::mt19937_64 rng(7);
    std::vector<Log2Histogram> hists(500);
    for (auto& h : hists) {
        for (int k = 0; k < 5; ++k) h.add_slot(rng() % 12, rng() % 1000);
        if (rng() % 50 == 0) h.add_slot(31, ~0ull / 4);
    }
    hists[10] = Log2Histogram{};
    auto ts = regular_ts(hists.size());
    ChunkEncoder enc(1, true);
    for (size_t i = 0; i < ts.size(); ++i) {
        double count = static_cast<double>(hists[i].count());
        enc.add(ts[i], std::span<const double>(&count, 1), &hists[i]);
    }
    auto blob = enc.finish();
    ASSERT_TRUE(blob);
    auto back = decode_chunk(*blob);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->ts, ts);
    EXPECT_EQ(back->hists, hists);
    EXPECT_EQ(back->columns[0][3], static_cast<double>(hists[3].count()));
}

TEST(StoreChunkCodec, CorruptBlobIsAnErrorNotACrash) {
    std::vector<double> v(100, 3.25);
    ChunkEncoder enc(1, false);
    auto ts = regular_ts(v.size());
    for (size_t i = 0; i < v.size(); ++i)
        enc.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
    auto blob = *enc.finish();
    EXPECT_FALSE(decode_chunk("not zstd"));
    std::string cut = blob.substr(0, blob.size() / 2);
    EXPECT_FALSE(decode_chunk(cut));
}

// What a day of a host's metrics looks like: most series constant (a process's thread
// count, a cgroup limit), many slowly moving integral counters, some noisy. Per-sample
// cost over a 1 h chunk must stay within 0.5 bytes.
TEST(StoreChunkCodec, RealisticMixCostsAtMostHalfAByteASample) {
    std::mt19937_64 rng(1);
    auto ts = regular_ts(3600);
    size_t bytes = 0, samples = 0;
    for (int s = 0; s < 100; ++s) {
        std::vector<double> v(ts.size());
        double x = static_cast<double>(rng() % 100000);
        for (size_t i = 0; i < v.size(); ++i) {
            if (s < 60) {
                // constant
            } else if (s < 90) {
                if (rng() % 60 == 0) x += static_cast<double>(rng() % 10);  // slow counter
            } else {
                x = static_cast<double>(rng() % 2000);  // noisy integral per-interval total
            }
            v[i] = x;
        }
        ChunkEncoder enc(1, false);
        for (size_t i = 0; i < v.size(); ++i)
            enc.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
        bytes += enc.finish()->size();
        samples += v.size();
    }
    double per_sample = static_cast<double>(bytes) / static_cast<double>(samples);
    RecordProperty("bytes_per_sample", std::to_string(per_sample));
    std::printf("realistic mix: %.3f bytes/sample\n", per_sample);
    EXPECT_LE(per_sample, 0.5);
}

// The collector wakes up a few ms late or early each interval: jittered timestamps.
std::vector<int64_t> jittered_ts(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int64_t> ts;
    int64_t t = 1'796'440'320'000;
    for (size_t i = 0; i < n; ++i) ts.push_back(t += 990 + static_cast<int64_t>(rng() % 21));
    return ts;
}

Result<ChunkPoints> encode_on_timeline(const std::vector<int64_t>& ts,
                                       const std::vector<double>& values,
                                       const std::vector<int64_t>& timeline, size_t* size) {
    ChunkEncoder enc(1, false);
    for (size_t i = 0; i < ts.size(); ++i)
        enc.add(ts[i], std::span<const double>(&values[i], 1), nullptr);
    auto blob = enc.finish(9, &timeline);
    if (!blob) return std::unexpected(blob.error());
    if (size) *size = blob->size();
    return decode_chunk(
        *blob, [&](int64_t first) { return first == timeline.front() ? &timeline : nullptr; });
}

TEST(StoreChunkCodec, PointsOnATimelineComeBackWithTheirTimestamps) {
    auto timeline = jittered_ts(3600, 7);
    // A process seen in two stretches of the hour, and one that is there throughout.
    std::vector<int64_t> ts;
    for (size_t i = 100; i < 900; ++i) ts.push_back(timeline[i]);
    for (size_t i = 1500; i < 1510; ++i) ts.push_back(timeline[i]);
    ts.push_back(timeline.back());
    std::vector<double> values(ts.size());
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i % 7);
    auto back = encode_on_timeline(ts, values, timeline, nullptr);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->ts, ts);
    expect_bits_equal(back->columns.at(0), values);

    std::vector<double> all(timeline.size(), 0.0);
    auto whole = encode_on_timeline(timeline, all, timeline, nullptr);
    ASSERT_TRUE(whole) << whole.error().message;
    EXPECT_EQ(whole->ts, timeline);
}

TEST(StoreChunkCodec, ATimelineSavesTheJitteredTimestampsOfEverySeries) {
    auto timeline = jittered_ts(3600, 11);
    std::vector<double> zeros(timeline.size(), 0.0);
    size_t with = 0;
    ASSERT_TRUE(encode_on_timeline(timeline, zeros, timeline, &with));
    ChunkEncoder enc(1, false);
    for (size_t i = 0; i < timeline.size(); ++i)
        enc.add(timeline[i], std::span<const double>(&zeros[i], 1), nullptr);
    size_t without = enc.finish()->size();
    // Jitter of 21 ms costs ~4 bits a point in the chunk; on a timeline an unchanging
    // series is a few bytes for the hour.
    EXPECT_GT(without, 1000u);
    EXPECT_LT(with, 64u);
}

TEST(StoreChunkCodec, ATimestampNotOnTheTimelineKeepsTheTimestampsInTheChunk) {
    auto timeline = jittered_ts(100, 3);
    std::vector<int64_t> ts = {timeline[0], timeline[1] + 1, timeline[2]};
    std::vector<double> values = {1, 2, 3};
    // Decoded without any lookup: the chunk carries its own timestamps.
    ChunkEncoder enc(1, false);
    for (size_t i = 0; i < ts.size(); ++i)
        enc.add(ts[i], std::span<const double>(&values[i], 1), nullptr);
    auto blob = enc.finish(9, &timeline);
    ASSERT_TRUE(blob);
    auto back = decode_chunk(*blob);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->ts, ts);
}

TEST(StoreChunkCodec, AMissingTimelineIsAnErrorThatNamesIt) {
    auto timeline = jittered_ts(10, 5);
    std::vector<double> values(timeline.size(), 1.0);
    ChunkEncoder enc(1, false);
    for (size_t i = 0; i < timeline.size(); ++i)
        enc.add(timeline[i], std::span<const double>(&values[i], 1), nullptr);
    auto blob = enc.finish(9, &timeline);
    ASSERT_TRUE(blob);
    auto back = decode_chunk(*blob, [](int64_t) { return nullptr; });
    ASSERT_FALSE(back);
    EXPECT_NE(back.error().message.find("timeline"), std::string::npos);
    EXPECT_FALSE(decode_chunk(*blob));
}

TEST(StoreChunkCodec, TimelinesRoundTrip) {
    auto timeline = jittered_ts(500, 9);
    auto blob = encode_timeline(timeline);
    ASSERT_TRUE(blob);
    auto back = decode_timeline(*blob);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, timeline);
}

std::vector<double> decode_column_of(const ChunkEncoder& enc, size_t* size = nullptr) {
    auto blob = enc.finish();
    EXPECT_TRUE(blob);
    if (size) *size = blob->size();
    auto back = decode_chunk(*blob);
    EXPECT_TRUE(back) << back.error().message;
    return back->columns.at(0);
}

TEST(StoreChunkCodec, GaugesAreKeptAtTheirDeclaredDecimals) {
    auto ts = regular_ts(3600);
    std::mt19937_64 rng(4);
    std::vector<double> v(ts.size());
    for (auto& x : v) x = static_cast<double>(rng() % 10'000'000) / 99'991.0;  // 0-100 %
    ChunkEncoder exact(1, false), two(1, false, 2);
    for (size_t i = 0; i < ts.size(); ++i) {
        exact.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
        two.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
    }
    size_t exact_size = 0, two_size = 0;
    expect_bits_equal(decode_column_of(exact, &exact_size), v);
    auto back = decode_column_of(two, &two_size);
    ASSERT_EQ(back.size(), v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        EXPECT_NEAR(back[i], v[i], 0.005 + 1e-12) << i;
        EXPECT_EQ(back[i], std::nearbyint(v[i] * 100) / 100) << i;
    }
    // Noisy 0-100 % at 0.01: ~14 bits of entropy a point against a full double's 50+.
    EXPECT_LT(two_size * 3, exact_size);
}

TEST(StoreChunkCodec, ValuesADecimalColumnCannotScaleStayExactAfterRounding) {
    auto ts = regular_ts(5);
    std::vector<double> v = {1.234, std::numeric_limits<double>::quiet_NaN(), 2.5, 1e300, -0.004};
    ChunkEncoder enc(1, false, 1);
    for (size_t i = 0; i < ts.size(); ++i)
        enc.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
    auto back = decode_column_of(enc);
    ASSERT_EQ(back.size(), v.size());
    EXPECT_EQ(back[0], 1.2);
    EXPECT_TRUE(std::isnan(back[1]));
    EXPECT_EQ(back[2], 2.5);
    EXPECT_EQ(back[3], 1e300);
    EXPECT_EQ(back[4], 0.0);
}

TEST(StoreChunkCodec, WholeDecimalsRoundToIntegers) {
    auto ts = regular_ts(4);
    std::vector<double> v = {10.4, 10.6, -3.5, 7};
    ChunkEncoder enc(1, false, 0);
    for (size_t i = 0; i < ts.size(); ++i)
        enc.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
    EXPECT_EQ(decode_column_of(enc), (std::vector<double>{10, 11, -4, 7}));
}

TEST(StoreChunkCodec, NegativeDecimalsRoundToThousands) {
    auto ts = regular_ts(3600);
    std::mt19937_64 rng(5);
    std::vector<double> v(ts.size());
    for (auto& x : v) x = static_cast<double>(rng() % 100'000'000);  // ns of CPU a second
    v[0] = 1'234'567;
    v[1] = 499;
    v[2] = -1'501;
    v[3] = 3e15;
    ChunkEncoder exact(1, false), us(1, false, -3);
    for (size_t i = 0; i < ts.size(); ++i) {
        exact.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
        us.add(ts[i], std::span<const double>(&v[i], 1), nullptr);
    }
    size_t exact_size = 0, us_size = 0;
    expect_bits_equal(decode_column_of(exact, &exact_size), v);
    auto back = decode_column_of(us, &us_size);
    ASSERT_EQ(back.size(), v.size());
    EXPECT_EQ(back[0], 1'235'000);
    EXPECT_EQ(back[1], 0.0);
    EXPECT_EQ(back[2], -2'000);
    EXPECT_EQ(back[3], 3e15);
    for (size_t i = 0; i < v.size(); ++i)
        EXPECT_EQ(back[i], std::nearbyint(v[i] / 1000) * 1000) << i;
    // Ten bits of noise a point fewer.
    EXPECT_LT(us_size * 5, exact_size * 4);
}

TEST(StoreChunkCodec, TheCatalogueUnitDecidesTheStoredDecimals) {
    EXPECT_EQ(stored_decimals("oncpu_ns"), -3);
    EXPECT_EQ(stored_decimals("runq_wait_ns"), -3);
    EXPECT_EQ(stored_decimals("cpu_pct"), 2);
    EXPECT_EQ(stored_decimals("read_bytes"), kAllDecimals);  // a counter: exact
    EXPECT_EQ(stored_decimals("runq_hist"), kAllDecimals);
    EXPECT_EQ(stored_decimals("no_such_metric"), kAllDecimals);
}

// The histogram section's mode byte of a chunk without columns or timeline.
uint8_t hist_mode(const std::string& raw) {
    std::string_view in(raw);
    uint64_t v = 0;
    in.remove_prefix(1);             // version
    EXPECT_TRUE(get_varint(in, v));  // count
    EXPECT_TRUE(get_varint(in, v));  // columns
    in.remove_prefix(1);             // has histograms
    EXPECT_TRUE(get_varint(in, v));  // timestamps' length
    in.remove_prefix(v);
    return in.empty() ? 0xff : static_cast<uint8_t>(in.front());
}

// A busy process's run-queue histograms (a dozen slots of tens to hundreds each interval)
// go slot by slot, a single point or an idle process's empty ones stay sparse; every form
// comes back exactly.
TEST(StoreChunkCodec, BusyHistogramsGoSlotBySlotAndRoundTrip) {
    std::mt19937_64 rng(7);
    std::vector<Log2Histogram> busy(900), quiet(900), one(1), empty(2000);
    one[0].add_slot(12, 7);
    for (size_t i = 0; i < busy.size(); ++i) {
        for (size_t s = 0; s < 17; ++s)
            if (rng() % 5) busy[i].add_slot(s, 20 * s + rng() % (s == 0 ? 400 : 150));
        if (i % 97 == 0) busy[i].add_slot(31, 1);
        if (i % 50 == 0) quiet[i].add_slot(rng() % 20, 1 + rng() % 3);
    }
    for (const auto* hists : {&busy, &quiet, &one, &empty}) {
        ChunkEncoder enc(0, true);
        auto ts = regular_ts(hists->size());
        for (size_t i = 0; i < ts.size(); ++i) enc.add(ts[i], {}, &(*hists)[i]);
        std::string raw = enc.finish_raw();
        const uint8_t mode = hist_mode(raw);
        if (hists == &busy) {
            EXPECT_EQ(mode, 2);  // slot by slot
        } else if (hists == &one || hists == &empty) {
            EXPECT_LE(mode, 1);  // sparse
        }
        auto back = decode_raw_chunk(raw);
        ASSERT_TRUE(back) << back.error().message;
        EXPECT_EQ(back->ts, ts);
        ASSERT_EQ(back->hists.size(), hists->size());
        for (size_t i = 0; i < hists->size(); ++i) ASSERT_EQ(back->hists[i], (*hists)[i]) << i;
        // Cut short anywhere, it is an error.
        for (size_t cut : {raw.size() - 1, raw.size() - 2, raw.size() / 2}) {
            auto bad = decode_raw_chunk(std::string_view(raw).substr(0, cut));
            EXPECT_FALSE(bad) << "cut at " << cut;
        }
    }
}

}  // namespace
}  // namespace perfbpf::store

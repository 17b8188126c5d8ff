#include "store/head_row.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

namespace perfbpf::store {
namespace {

struct Decoded {
    std::vector<std::pair<uint32_t, double>> values;
    std::vector<std::pair<uint32_t, Log2Histogram>> hists;
};

Result<Decoded> decode(std::string_view row) {
    Decoded d;
    auto r = decode_head_row(
        row, [&](uint32_t id, double v) { d.values.emplace_back(id, v); },
        [&](uint32_t id, const Log2Histogram& h) { d.hists.emplace_back(id, h); });
    if (!r) return std::unexpected(r.error());
    return d;
}

TEST(StoreHeadRow, ValuesOfEveryKindRoundTripBitForBit) {
    std::vector<std::pair<uint32_t, double>> values = {
        {7, 0.0},
        {8, 12345678.0},
        {3, -42.0},
        {9, 12.34},
        {10, -0.0},
        {11, 1e300},
        {12, 9.007199254740993e15},
        {13, std::numeric_limits<double>::quiet_NaN()},
        {400000, 1.0}};
    Log2Histogram h;
    h.add_slot(3, 5);
    h.add_slot(20, 1);
    std::vector<std::pair<uint32_t, const Log2Histogram*>> hists = {{5, &h}, {2, nullptr}};
    std::string row;
    encode_head_row(row, values, hists);
    auto d = decode(row);
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_EQ(d->values.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(d->values[i].first, values[i].first);
        EXPECT_EQ(std::bit_cast<uint64_t>(d->values[i].second),
                  std::bit_cast<uint64_t>(values[i].second))
            << "entry " << i;
    }
    ASSERT_EQ(d->hists.size(), 2u);
    EXPECT_EQ(d->hists[0].first, 5u);
    EXPECT_EQ(d->hists[0].second.slot(3), 5u);
    EXPECT_EQ(d->hists[0].second.slot(20), 1u);
    EXPECT_EQ(d->hists[1].second.slot(3), 0u);
}

TEST(StoreHeadRow, IntegralValuesOfConsecutiveSeriesTakeTwoBytes) {
    std::vector<std::pair<uint32_t, double>> values;
    for (uint32_t id = 1000; id < 1800; ++id) values.emplace_back(id, id % 3 ? 0.0 : 17.0);
    std::string row;
    encode_head_row(row, values, {});
    EXPECT_LE(row.size(), 1 + 3 + 2 * values.size());
    auto d = decode(row);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->values, values);
}

// Rows written before version 2 (varint id << 1 | is_histogram, then 8 bytes) still read:
// a head that survived a kill -9 is compacted by the next version.
TEST(StoreHeadRow, VersionOneRowsStillRead) {
    std::string row;
    put_varint(row, uint64_t{300} << 1);
    uint64_t bits = std::bit_cast<uint64_t>(2.5);
    for (int i = 0; i < 8; ++i) row.push_back(static_cast<char>(bits >> (8 * i)));
    put_varint(row, uint64_t{4} << 1 | 1);
    Log2Histogram h;
    h.add_slot(1, 9);
    put_hist_delta(row, h, Log2Histogram{});
    auto d = decode(row);
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_EQ(d->values.size(), 1u);
    EXPECT_EQ(d->values[0], std::make_pair(300u, 2.5));
    ASSERT_EQ(d->hists.size(), 1u);
    EXPECT_EQ(d->hists[0].first, 4u);
    EXPECT_EQ(d->hists[0].second.slot(1), 9u);
}

TEST(StoreHeadRow, DamagedRowsAreErrors) {
    std::string row;
    encode_head_row(row, std::vector<std::pair<uint32_t, double>>{{5, 0.5}}, {});
    EXPECT_FALSE(decode(std::string_view(row).substr(0, row.size() - 1)));
    std::string bad("\0", 1);
    put_varint(bad, zigzag(5) << 2 | 3);  // no such entry type
    EXPECT_FALSE(decode(bad));
    std::string negative("\0", 1);
    put_varint(negative, zigzag(-5) << 2 | 2);  // an id below zero
    put_varint(negative, 0);
    EXPECT_FALSE(decode(negative));
}

}  // namespace
}  // namespace perfbpf::store

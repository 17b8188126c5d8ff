// SeriesHints: positional hints that follow the series when an object's series are
// inserted or removed ahead of them.
#include "model/series_lookup.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace perfbpf {
namespace {

using Map = std::map<SeriesKey, int>;

SeriesKey key(const std::string& name) {
    return SeriesKey{"cpu_pct", {{"comm", name}}};
}

// One pass over `names` as the consumers do it; returns how many lookups missed.
size_t pass(SeriesHints<Map::value_type>& hints, Map& map, const std::vector<std::string>& names) {
    size_t misses = 0;
    for (size_t pos = 0; pos < names.size(); ++pos) {
        auto* node = hints.find(pos, key(names[pos]));
        if (!node) {
            ++misses;
            node = &*map.try_emplace(key(names[pos]), 0).first;
            hints.remember(pos, node);
        }
        EXPECT_EQ(node->first, key(names[pos]));
    }
    return misses;
}

std::vector<std::string> names(char first, char last) {
    std::vector<std::string> out;
    for (char c = first; c <= last; ++c) out.emplace_back(1, c);
    return out;
}

TEST(SeriesHints, SameSeriesAgainAreAllHits) {
    Map map;
    SeriesHints<Map::value_type> hints;
    EXPECT_EQ(pass(hints, map, names('a', 'z')), 26u);
    EXPECT_EQ(pass(hints, map, names('a', 'z')), 0u);
    EXPECT_EQ(pass(hints, map, names('a', 'z')), 0u);
}

TEST(SeriesHints, SeriesInsertedAheadCostOnlyTheirOwnLookups) {
    Map map;
    SeriesHints<Map::value_type> hints;
    pass(hints, map, names('d', 'z'));
    auto with_new = names('d', 'z');
    with_new.insert(with_new.begin() + 5, {"N1", "N2", "N3"});
    // The three new series, and the first one after them (where the move is learnt).
    EXPECT_EQ(pass(hints, map, with_new), 4u);
    EXPECT_EQ(pass(hints, map, with_new), 0u);
}

TEST(SeriesHints, SeriesRemovedAheadCostOneLookup) {
    Map map;
    SeriesHints<Map::value_type> hints;
    pass(hints, map, names('a', 'z'));
    auto without = names('a', 'z');
    without.erase(without.begin() + 3, without.begin() + 6);
    EXPECT_EQ(pass(hints, map, without), 1u);
    // Back as before: the three are found in the map (never erased), and the ones after
    // them move back.
    EXPECT_EQ(pass(hints, map, names('a', 'z')), 4u);
}

TEST(SeriesHints, AnEqualIdIsTakenWithoutComparingKeys) {
    Map map;
    SeriesHints<Map::value_type> hints;
    ASSERT_EQ(hints.find(0, key("a"), 7), nullptr);
    auto* a = &*map.try_emplace(key("a"), 0).first;
    hints.remember(0, a, 7);
    // Equal nonzero ids mean equal keys (SeriesSample::id): the key is not looked at, as a
    // key that differs shows here.
    EXPECT_EQ(hints.find(0, key("not a"), 7), a);
    // Another id: the keys decide.
    EXPECT_EQ(hints.find(0, key("a"), 8), a);
    EXPECT_EQ(hints.find(0, key("b"), 9), nullptr);
    hints.remember(0, a, 9);  // as if "b" had been found as a: the next pass trusts id 9
    EXPECT_EQ(hints.find(0, key("b"), 9), a);
    // No id: the keys decide.
    EXPECT_EQ(hints.find(0, key("b"), 0), nullptr);
}

TEST(SeriesHints, ClearForgetsEveryEntry) {
    Map map;
    SeriesHints<Map::value_type> hints;
    pass(hints, map, names('a', 'e'));
    hints.clear();
    EXPECT_EQ(pass(hints, map, names('a', 'e')), 5u);
}

}  // namespace
}  // namespace perfbpf

// util/enum_table.h and every enum's {value, name} table.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "collect/parse/mounts.h"
#include "detect/alert_rules.h"
#include "detect/incidents.h"
#include "detect/verdict.h"
#include "model/catalogue.h"
#include "model/series.h"
#include "model/series_result.h"
#include "sinks/prometheus.h"
#include "sinks/top_view.h"
#include "tune/journal.h"
#include "tune/knob.h"
#include "tune/scope.h"
#include "tune/tuners/block_io.h"
#include "util/enum_table.h"

namespace perfbpf {
namespace {

enum class Colour { red, green, blue };
constexpr auto kColours =
    enum_table<Colour>("colour", {{Colour::red, "red"}, {Colour::green, "green"}});

TEST(EnumTable, NamesAndParsesFromTheSameRows) {
    EXPECT_STREQ(kColours.name(Colour::green), "green");
    EXPECT_EQ(kColours.find("red"), Colour::red);
    auto g = kColours.parse("green");
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_EQ(*g, Colour::green);
    static_assert(kColours.find("red") == Colour::red, "usable at compile time");
}

TEST(EnumTable, UnknownNameErrorListsTheValidOnes) {
    EXPECT_FALSE(kColours.find("Red"));  // exact, case and all
    auto bad = kColours.parse("purple");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "unknown colour 'purple' (one of: red, green)");
    EXPECT_FALSE(kColours.parse(""));
}

TEST(EnumTable, ValueMissingFromTheTablePrintsAsQuestionMark) {
    EXPECT_STREQ(kColours.name(Colour::blue), "?");
}

// Every row's name parses back to its value and every value prints as its row's name: no
// name or value twice. `count` (0: unknown) is how many values the enum has, when the
// enum says so, and then the table must name every one of them.
template <class Table>
void expect_round_trip(const Table& table, size_t count = 0) {
    SCOPED_TRACE(std::string(table.what()));
    std::set<std::string> names;
    for (const auto& row : table.rows()) {
        EXPECT_TRUE(names.insert(row.name).second) << "name twice: " << row.name;
        EXPECT_STREQ(table.name(row.value), row.name);
        auto back = table.parse(row.name);
        ASSERT_TRUE(back) << back.error().message;
        EXPECT_EQ(*back, row.value) << row.name;
        EXPECT_STRNE(row.name, "?");
    }
    if (count) {
        EXPECT_EQ(table.rows().size(), count);
    }
}

TEST(EnumTable, EveryTableRoundTrips) {
    expect_round_trip(kSeverityNames, 3);
    expect_round_trip(kTopViewNames, kTopViewCount);
    expect_round_trip(tune::kScopeKindNames, 5);
    expect_round_trip(tune::kKnobKindNames, 5);
    expect_round_trip(tune::kOutcomeNames, 7);
    expect_round_trip(tune::kDeviceKindNames, 5);
    expect_round_trip(kAlertAggregateNames, 5);
    expect_round_trip(kAlertChangeNames, 4);
    expect_round_trip(kResourceNames, 5);
    expect_round_trip(kIncidentChangeNames, 3);
    expect_round_trip(kFieldKindNames, 8);
    expect_round_trip(kObjectKindNames, 7);
    expect_round_trip(kMetricKindNames, 4);
    expect_round_trip(kTierNames, kTiers);
    expect_round_trip(kPromTypeNames, 3);
    expect_round_trip(kCgroupModeNames, 4);
}

// The names are a format: journals, history labels, JSON and the config read them back.
TEST(EnumTable, NamesOnDiskAndInJsonAreUnchanged) {
    EXPECT_STREQ(tune::outcome_name(tune::Outcome::rolled_back), "rolled-back");
    EXPECT_STREQ(kAlertChangeNames.name(AlertChange::fired), "firing");
    EXPECT_STREQ(kTierNames.name(Tier::minute), "1m");
    EXPECT_STREQ(tune::device_kind_name(tune::DeviceKind::hdd), "rotational");
    EXPECT_STREQ(tune::knob_kind_name(tune::KnobKind::block_queue), "block_queue");
    EXPECT_EQ(field_kind_name(FieldKind::histogram), "histogram");
}

// The first four field kinds are the metric kinds, under the same names.
TEST(EnumTable, FieldKindsThatAreMetricsShareTheMetricKindNames) {
    for (const auto& row : kFieldKindNames.rows())
        if (auto mk = metric_kind(row.value)) {
            EXPECT_STREQ(kMetricKindNames.name(*mk), row.name);
        }
}

}  // namespace
}  // namespace perfbpf

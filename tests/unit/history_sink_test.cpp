#include "sinks/history_sink.h"

#include <gtest/gtest.h>

namespace perfbpf {
namespace {

std::vector<SeriesResult> two_points() {
    SeriesResult s;
    s.key = {"cpu_pct", {{"comm", "a\"b"}, {"pid", "7"}}};
    s.kind = MetricKind::gauge;
    QueryPoint p1;
    p1.ts_ms = 1'796'440'320'000;
    p1.value = 12.5;
    p1.min = 10;
    p1.max = 15;
    p1.count = 60;
    QueryPoint p2 = p1;
    p2.ts_ms += 60'000;
    p2.value = 3;
    s.points = {p1, p2};
    return {s};
}

TEST(HistorySink, JsonCarriesLabelsKindTierAndPoints) {
    auto j = query_json(two_points(), {0, 1, 0});
    ASSERT_EQ(j["series"].size(), 1u);
    const auto& s = j["series"][0];
    EXPECT_EQ(s["metric"], "cpu_pct");
    EXPECT_EQ(s["labels"]["pid"], "7");
    EXPECT_EQ(s["kind"], "gauge");
    EXPECT_EQ(s["tier"], "raw");
    ASSERT_EQ(s["points"].size(), 2u);
    EXPECT_EQ(s["points"][0].size(), 2u);
    EXPECT_EQ(s["points"][1][1], 3.0);
    // With a step each point also has min, max and the intervals merged.
    auto stepped = query_json(two_points(), {0, 1, 60'000});
    EXPECT_EQ(stepped["series"][0]["points"][0].size(), 5u);
    EXPECT_EQ(stepped["series"][0]["points"][0][4], 60);
}

TEST(HistorySink, CsvQuotesTheSeriesNameAndUsesUtc) {
    std::string csv = query_csv(two_points());
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "time,series,value");
    EXPECT_NE(
        csv.find("2026-12-05T03:12:00.000Z,\"cpu_pct{comm=\"\"a\\\"\"b\"\",pid=\"\"7\"\"}\",12.5"),
        std::string::npos)
        << csv;
}

TEST(HistorySink, TextSaysWhenNothingMatched) {
    EXPECT_NE(render_query({}, {0, 1000, 0}).find("no series matched"), std::string::npos);
    std::string text = render_query(two_points(), {0, 1, 60'000});
    EXPECT_NE(text.find("gauge, raw tier, 2 points"), std::string::npos) << text;
    EXPECT_NE(text.find("(min 10, max 15, 60 intervals)"), std::string::npos) << text;
}

}  // namespace
}  // namespace perfbpf

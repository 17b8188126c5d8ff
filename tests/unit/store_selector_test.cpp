#include "model/selector.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace perfbpf {
namespace {

SeriesKey key(std::string metric, Labels labels) {
    return {std::move(metric), std::move(labels)};
}

TEST(StoreSelector, ParsesAllFourOperators) {
    auto s =
        parse_selector(R"(runq_lat_p99_us{comm="nginx", cgroup!="/", pid=~"1[0-9]+",dev!~"sd.*"})");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->metric, "runq_lat_p99_us");
    ASSERT_EQ(s->matchers.size(), 4u);
    EXPECT_EQ(s->matchers[0].op, LabelMatcher::Op::eq);
    EXPECT_EQ(s->matchers[1].op, LabelMatcher::Op::ne);
    EXPECT_EQ(s->matchers[2].op, LabelMatcher::Op::re);
    EXPECT_EQ(s->matchers[3].op, LabelMatcher::Op::nre);
    EXPECT_EQ(s->matchers[2].value, "1[0-9]+");
}

TEST(StoreSelector, MatchesLabelsAndMissingLabelsAsEmpty) {
    auto s = parse_selector(R"(cpu_pct{comm=~"ng.*",cgroup!="/system"})");
    ASSERT_TRUE(s);
    EXPECT_TRUE(matches(*s, key("cpu_pct", {{"comm", "nginx"}, {"pid", "12"}})));
    EXPECT_FALSE(matches(*s, key("cpu_pct", {{"cgroup", "/system"}, {"comm", "nginx"}})));
    EXPECT_FALSE(matches(*s, key("cpu_pct", {{"comm", "xnginx"}})));  // regex is anchored
    EXPECT_FALSE(matches(*s, key("rss_bytes", {{"comm", "nginx"}})));
    auto none = parse_selector(R"({comm!~".+"})");
    ASSERT_TRUE(none);
    EXPECT_TRUE(matches(*none, key("x", {{"pid", "1"}})));
    EXPECT_FALSE(matches(*none, key("x", {{"comm", "a"}})));
}

TEST(StoreSelector, MetricAloneOrLabelsAloneOrEscapes) {
    auto m = parse_selector("cpu_pct");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->matchers.empty());
    EXPECT_TRUE(matches(*m, key("cpu_pct", {{"pid", "1"}})));
    auto l = parse_selector(R"({comm="a\"b\\c",})");
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_TRUE(l->metric.empty());
    EXPECT_EQ(l->matchers[0].value, "a\"b\\c");
}

TEST(StoreSelector, ErrorsNameTheColumnAndWhatWasExpected) {
    struct Case {
        const char* text;
        const char* expect;
    } cases[] = {
        {"", "column 1: expected a metric name or at least one label matcher"},
        {"cpu_pct{", "column 9: expected a label name"},
        {"cpu_pct{comm}", "column 13: expected one of =, !=, =~, !~"},
        {"cpu_pct{comm=nginx}", "column 14: expected a double-quoted value"},
        {"cpu_pct{comm=\"nginx}", "column 14: expected a closing '\"'"},
        {"cpu_pct{comm=\"a\" pid=\"1\"}", "column 18: expected ',' or '}'"},
        {"cpu_pct{comm=~\"(\"}", "column 15: expected a valid regular expression"},
        {"cpu pct", "column 5: expected '{' or the end"},
        {"{}", "expected a metric name or at least one label matcher"},
    };
    for (const auto& c : cases) {
        auto s = parse_selector(c.text);
        ASSERT_FALSE(s) << c.text;
        EXPECT_NE(s.error().message.find(c.expect), std::string::npos)
            << c.text << " -> " << s.error().message;
    }
}

TEST(StoreDuration, UnitsFractionsAndSums) {
    EXPECT_EQ(parse_duration_ms("90s").value(), 90'000);
    EXPECT_EQ(parse_duration_ms("5m").value(), 300'000);
    EXPECT_EQ(parse_duration_ms("2h").value(), 7'200'000);
    EXPECT_EQ(parse_duration_ms("7d").value(), 604'800'000);
    EXPECT_EQ(parse_duration_ms("1w").value(), 604'800'000);
    EXPECT_EQ(parse_duration_ms("250ms").value(), 250);
    EXPECT_EQ(parse_duration_ms("1.5h").value(), 5'400'000);
    EXPECT_EQ(parse_duration_ms("1h30m").value(), 5'400'000);
}

TEST(StoreDuration, RejectsBadInput) {
    for (const char* bad : {"", "5", "s", "5x", "-5m", "nan", "infs", "NaNs", "0s", "1..5s",
                            "99999999999999999999s", "15250284453w"}) {
        auto d = parse_duration_ms(bad);
        EXPECT_FALSE(d) << bad << " -> " << (d ? std::to_string(*d) : "");
    }
    EXPECT_NE(parse_duration_ms("5x").error().message.find("column 2: expected a unit"),
              std::string::npos);
    EXPECT_NE(parse_duration_ms("15250284453w").error().message.find("too large"),
              std::string::npos);
}

TEST(StoreTime, Rfc3339UnixNowAndRelative) {
    const int64_t now = 1'796'440'320'000;  // 2026-12-05T03:12:00Z
    EXPECT_EQ(parse_time_ms("2026-12-05T03:12:00Z", 0).value(), now);
    EXPECT_EQ(parse_time_ms("2026-12-05T03:12:00.25Z", 0).value(), now + 250);
    EXPECT_EQ(parse_time_ms("2026-12-05T05:12:00+02:00", 0).value(), now);
    EXPECT_EQ(parse_time_ms("2026-12-04T22:42:00-04:30", 0).value(), now);
    EXPECT_EQ(parse_time_ms("1796440320", 0).value(), now);
    EXPECT_EQ(parse_time_ms("1796440320.5", 0).value(), now + 500);
    EXPECT_EQ(parse_time_ms("now", now).value(), now);
    EXPECT_EQ(parse_time_ms("-2h", now).value(), now - 7'200'000);
    EXPECT_EQ(parse_time_ms("2024-02-29T00:00:00Z", 0).value(), 1'709'164'800'000);
}

TEST(StoreTime, LocalTimeWithoutZone) {
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    setenv("TZ", "EST5", 1);  // fixed UTC-5, no DST
    tzset();
    auto t = parse_time_ms("2026-12-04T22:12:00", 0);
    if (old)
        setenv("TZ", saved.c_str(), 1);
    else
        unsetenv("TZ");
    tzset();
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(*t, 1'796'440'320'000);
}

TEST(StoreTime, RejectsBadInput) {
    struct Case {
        const char* text;
        const char* expect;
    } cases[] = {
        {"", "expected RFC 3339"},
        {"2026-13-05T03:12:00Z", "column 6: expected a month 01-12"},
        {"2026-02-29T03:12:00Z", "column 9: expected a day 01-28"},
        {"2026-12-05T24:00:00Z", "column 12: expected an hour 00-23"},
        {"2026-12-05T03:12:00X", "column 20: expected 'Z'"},
        {"2026-12-05 03:1a:00Z", "column 16: expected a digit"},
        {"2026/12/05", "column 5: expected '-'"},
        {"-2x", "expected a unit"},
        {"-nan", "expected a unit"},
        {"inf", "column 1: expected a digit"},
        {"99999999999999999999", "too large"},
        {"2026-12-05T03:12:00+25:00", "expected an offset"},
    };
    for (const auto& c : cases) {
        auto t = parse_time_ms(c.text, 1000);
        ASSERT_FALSE(t) << c.text;
        EXPECT_NE(t.error().message.find(c.expect), std::string::npos)
            << c.text << " -> " << t.error().message;
    }
}

}  // namespace
}  // namespace perfbpf

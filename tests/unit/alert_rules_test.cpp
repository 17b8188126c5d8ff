#include "detect/alert_rules.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.h"
#include "support/series_sample.h"

namespace perfbpf {
namespace {

AlertRule compiled(AlertRuleSpec s) {
    auto r = compile_rule(s);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : AlertRule{};
}

AlertRuleSpec cpu_rule() {
    AlertRuleSpec s;
    s.name = "cpu";
    s.select = "cpu_busy_pct";
    s.warn = 70;
    s.crit = 85;
    s.for_s = 5;
    s.clear = 60;
    s.summary = "CPU {value} % >= {threshold} ({severity})";
    return s;
}

std::vector<AlertSample> host(double busy) {
    return {{{"cpu_busy_pct", {}}, busy, {}}};
}

std::vector<AlertSample> devices(double sda_us, double sdb_us) {
    return {{{"lat_p99_us", {{"device", "sda"}}}, sda_us, {}},
            {{"lat_p99_us", {{"device", "sdb"}}}, sdb_us, {}}};
}

// Feeds one value per second from t=1000 ms; returns the events of each second.
std::vector<std::vector<AlertEvent>> run(AlertEngine& e, const std::vector<double>& busy) {
    std::vector<std::vector<AlertEvent>> out;
    for (size_t i = 0; i < busy.size(); ++i)
        out.push_back(e.evaluate(static_cast<int64_t>(i + 1) * 1000, host(busy[i])));
    return out;
}

TEST(AlertRules, PendingThenFiringAfterFor) {
    AlertEngine e({compiled(cpu_rule())});
    // Above warn from second 1; `for` 5 s: fires at second 6, not before.
    auto ev = run(e, {75, 75, 75, 75, 75, 75});
    for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(ev[i].empty()) << "second " << i + 1;
    ASSERT_EQ(ev[5].size(), 1u);
    EXPECT_EQ(ev[5][0].change, AlertChange::fired);
    EXPECT_EQ(ev[5][0].alert.severity, Severity::warning);
    EXPECT_EQ(ev[5][0].alert.starts_ms, 6000);
    EXPECT_EQ(ev[5][0].alert.summary, "CPU 75 % >= 70 (warning)");
    EXPECT_EQ(e.firing().size(), 1u);
}

TEST(AlertRules, DipBelowWarnWhilePendingStartsOver) {
    AlertEngine e({compiled(cpu_rule())});
    auto ev = run(e, {75, 75, 75, 65, 75, 75, 75, 75, 75, 75});
    for (size_t i = 0; i < 9; ++i) EXPECT_TRUE(ev[i].empty()) << "second " << i + 1;
    ASSERT_EQ(ev[9].size(), 1u);  // pending again from second 5: fires at second 10
    EXPECT_EQ(ev[9][0].change, AlertChange::fired);
}

TEST(AlertRules, HysteresisKeepsItFiringUntilBelowClear) {
    AlertEngine e({compiled(cpu_rule())});
    auto ev = run(e, {75, 75, 75, 75, 75, 75, 65, 61, 59});
    ASSERT_EQ(ev[5].size(), 1u);
    EXPECT_TRUE(ev[6].empty());  // below warn, above clear: still firing
    EXPECT_TRUE(ev[7].empty());
    ASSERT_EQ(ev[8].size(), 1u);
    EXPECT_EQ(ev[8][0].change, AlertChange::resolved);
    EXPECT_EQ(ev[8][0].alert.starts_ms, 6000);
    EXPECT_EQ(ev[8][0].alert.ends_ms, 9000);
    EXPECT_TRUE(e.firing().empty());
}

TEST(AlertRules, EscalatesToCriticalAndBack) {
    AlertEngine e({compiled(cpu_rule())});
    // crit 85, clear 60 -> critical falls back below 85 - (70 - 60) = 75.
    auto ev = run(e, {75, 75, 75, 75, 75, 75, 90, 80, 74});
    ASSERT_EQ(ev[6].size(), 1u);
    EXPECT_EQ(ev[6][0].change, AlertChange::escalated);
    EXPECT_EQ(ev[6][0].alert.severity, Severity::critical);
    EXPECT_EQ(ev[6][0].previous, Severity::warning);
    EXPECT_EQ(ev[6][0].alert.summary, "CPU 90 % >= 85 (critical)");
    EXPECT_TRUE(ev[7].empty());
    ASSERT_EQ(ev[8].size(), 1u);
    EXPECT_EQ(ev[8][0].change, AlertChange::deescalated);
    EXPECT_EQ(ev[8][0].alert.severity, Severity::warning);
}

TEST(AlertRules, FiresCriticalDirectlyWhenAboveCritAtTheEndOfFor) {
    auto s = cpu_rule();
    s.for_s = 0;
    AlertEngine e({compiled(s)});
    auto ev = run(e, {95});
    ASSERT_EQ(ev[0].size(), 1u);
    EXPECT_EQ(ev[0][0].alert.severity, Severity::critical);
}

TEST(AlertRules, EachFiresPerObject) {
    AlertRuleSpec s;
    s.name = "disk";
    s.select = "lat_p99_us";
    s.scale = 0.001;
    s.warn = 50;
    s.crit = 100;
    s.summary = "{device} p99 {value} ms > {threshold} ms";
    AlertEngine e({compiled(s)});
    auto ev = e.evaluate(1000, devices(60'000, 10'000));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].alert.object, (Labels{{"device", "sda"}}));
    EXPECT_EQ(ev[0].alert.summary, "sda p99 60 ms > 50 ms");
    ev = e.evaluate(2000, devices(60'000, 120'000));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].alert.object, (Labels{{"device", "sdb"}}));
    EXPECT_EQ(ev[0].alert.severity, Severity::critical);
    EXPECT_EQ(e.firing().size(), 2u);
    // sda goes away (device removed): its alert resolves; sdb keeps firing.
    std::vector<AlertSample> only_sdb = {{{"lat_p99_us", {{"device", "sdb"}}}, 120'000, {}}};
    ev = e.evaluate(3000, only_sdb);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].change, AlertChange::resolved);
    EXPECT_EQ(ev[0].alert.object, (Labels{{"device", "sda"}}));
}

TEST(AlertRules, AggregatesAcrossSeriesAndOverAWindow) {
    AlertRuleSpec s;
    s.name = "disks";
    s.select = R"(lat_p99_us{device=~"sd.*"})";
    s.aggregate = "avg";
    s.window = "3s";
    s.warn = 50;
    AlertEngine e({compiled(s)});
    EXPECT_TRUE(e.evaluate(1000, devices(90, 0)).empty());  // avg 45
    auto ev = e.evaluate(2000, devices(110, 0));            // avg 55, window mean 50
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].alert.object, Labels{});
    EXPECT_DOUBLE_EQ(ev[0].alert.value, 50);
    // 3 s window: the samples at 1000 and 2000 fall out by 5000; mean of 0s resolves it.
    EXPECT_TRUE(e.evaluate(3000, devices(100, 0)).empty());
    ev = e.evaluate(6000, devices(0, 0));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].change, AlertChange::resolved);
}

TEST(AlertRules, ForIntervalsCountsIntervals) {
    AlertRuleSpec s;
    s.name = "verdict";
    s.select = "verdict_severity";
    s.warn = 1;
    s.crit = 2;
    s.for_intervals = 5;
    s.summary = "{resource} {severity}: {note}";
    AlertEngine e({compiled(s)});
    Snapshot snap;
    std::vector<Verdict> v = {{"disk", Severity::warning, "sda p99 33 ms >= 20 ms", "sda"},
                              {"cpu", Severity::ok, "", ""}};
    for (int i = 1; i <= 4; ++i)
        EXPECT_TRUE(e.evaluate(i * 100, alert_samples({}, snap, v)).empty());
    auto ev = e.evaluate(500, alert_samples({}, snap, v));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].alert.summary, "disk warning: sda p99 33 ms >= 20 ms");
}

TEST(AlertRules, DerivedSeries) {
    Snapshot snap;
    snap.system.mem_total_bytes = 1000;
    snap.system.mem_available_bytes = 200;
    snap.system.swap_total_bytes = 100;
    snap.system.swap_free_bytes = 75;
    snap.system.tcp_out_segs = 50;  // too few segments for a rate
    snap.oom_kills.push_back(OomKill{42, "hog", 0, 0});
    auto samples = alert_samples({}, snap, {});
    auto value = [&](const std::string& metric) -> std::optional<double> {
        for (const auto& s : samples)
            if (s.key.metric == metric) return s.value;
        return std::nullopt;
    };
    EXPECT_DOUBLE_EQ(value("mem_used_pct").value_or(-1), 80);
    EXPECT_DOUBLE_EQ(value("swap_used_pct").value_or(-1), 25);
    EXPECT_FALSE(value("tcp_retrans_pct"));
    snap.system.tcp_out_segs = 1000;
    snap.system.tcp_retransmits = 5;
    samples = alert_samples({}, snap, {});
    EXPECT_DOUBLE_EQ(value("tcp_retrans_pct").value_or(-1), 0.5);

    // The built-in OOM rule fires at once on a kill.
    std::vector<AlertRule> rules;
    for (const auto& spec : default_alert_rules()) rules.push_back(compiled(spec));
    AlertEngine e(std::move(rules));
    auto ev = e.evaluate(1000, samples);
    auto oom = std::ranges::find(ev, std::string("oom_kill"),
                                 [](const AlertEvent& x) { return x.alert.rule; });
    ASSERT_NE(oom, ev.end());
    EXPECT_EQ(oom->alert.severity, Severity::critical);
    EXPECT_EQ(oom->alert.summary, "OOM killed pid 42 hog");
    // The kill was one interval's sample; the alert stays for its 5 minute window.
    auto oom_events = [&](int64_t at) {
        std::vector<AlertEvent> out;
        for (auto& x : e.evaluate(at, {}))
            if (x.alert.rule == "oom_kill") out.push_back(x);
        return out;
    };
    EXPECT_TRUE(oom_events(2000).empty());
    EXPECT_TRUE(oom_events(300'000).empty());
    auto resolved = oom_events(301'000);
    ASSERT_EQ(resolved.size(), 1u);
    EXPECT_EQ(resolved[0].change, AlertChange::resolved);
}

TEST(AlertRules, RefusedRulesNameRuleAndField) {
    auto s = cpu_rule();
    s.select = "cpu_bussy_pct";
    auto r = compile_rule(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "alert rule cpu: select names unknown metric cpu_bussy_pct");
    s = cpu_rule();
    s.crit = 50;
    r = compile_rule(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "alert rule cpu: crit (50) is below warn (70)");
    s = cpu_rule();
    s.for_s = -1;
    r = compile_rule(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "alert rule cpu: for (-1) is negative");
    s = cpu_rule();
    s.select = "runq_hist";
    EXPECT_FALSE(compile_rule(s));
    for (const auto& d : default_alert_rules()) EXPECT_TRUE(compile_rule(d)) << d.name;
}

TEST(AlertRules, ReloadKeepsStateOfRulesKeptAndResolvesRemovedOnes) {
    AlertEngine e({compiled(cpu_rule())});
    run(e, {75, 75, 75, 75, 75, 75});
    ASSERT_EQ(e.firing().size(), 1u);
    e.set_rules({compiled(cpu_rule())});
    EXPECT_TRUE(e.evaluate(7000, host(75)).empty());
    e.set_rules({});
    auto ev = e.evaluate(8000, host(75));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].change, AlertChange::resolved);
}

TEST(AlertConfig, ReadsAlertTablesAndMergesWithDefaults) {
    auto c = parse_config(
        "[alerting]\nalertmanager = \"http://127.0.0.1:9093\"\n"
        "[[alert]]\nname = \"cpu_busy\"\nselect = \"cpu_busy_pct\"\nwarn = 50\nfor = 5\n"
        "labels = { team = \"ops\" }\n"
        "[[alert]]\nname = \"oom_kill\"\nenabled = false\n",
        "a.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->alerting.alertmanager, "http://127.0.0.1:9093");
    auto rules = merge_alert_rules(c->alerting.rules);
    EXPECT_EQ(std::ranges::count(rules, std::string("oom_kill"), &AlertRuleSpec::name), 0);
    auto cpu = std::ranges::find(rules, std::string("cpu_busy"), &AlertRuleSpec::name);
    ASSERT_NE(cpu, rules.end());
    EXPECT_DOUBLE_EQ(cpu->warn, 50);
    EXPECT_EQ(cpu->labels, (Labels{{"team", "ops"}}));
}

TEST(AlertConfig, BadRulesAreOneLineNamingRuleAndField) {
    auto unknown = parse_config("[[alert]]\nname = \"x\"\nselect = \"nope\"\nwarn = 1\n", "a.toml");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "a.toml: alert rule x: select names unknown metric nope");
    auto order = parse_config(
        "[[alert]]\nname = \"x\"\nselect = \"cpu_busy_pct\"\nwarn = 9\ncrit = 3\n", "a.toml");
    ASSERT_FALSE(order);
    EXPECT_EQ(order.error().message, "a.toml: alert rule x: crit (3) is below warn (9)");
    auto neg = parse_config(
        "[[alert]]\nname = \"x\"\nselect = \"cpu_busy_pct\"\nwarn = 9\nfor = -2\n", "a.toml");
    ASSERT_FALSE(neg);
    EXPECT_EQ(neg.error().message, "a.toml: alert rule x: for (-2) is negative");
    auto typo = parse_config("[[alert]]\nname = \"x\"\nwran = 1\n", "a.toml");
    ASSERT_FALSE(typo);
    EXPECT_NE(typo.error().message.find("unknown key wran"), std::string::npos);
    EXPECT_FALSE(parse_config("[alerting]\nwebhook = \"ftp://x\"\n", "a.toml"));
}

// What the daemon does with its spans (daemon/daemon_alerts.cpp): each interval folded in,
// the rules evaluated once a span.
struct SpanFeed {
    SeriesSpan span;
    Snapshot span_snap;
    std::vector<Verdict> verdicts;
    bool open = false;

    void add(const Snapshot& snap, const std::vector<SeriesSample>& series,
             std::span<const Verdict> v) {
        span.add(std::vector(series));
        fold_alert_inputs(span_snap, snap, !open);
        if (!open) verdicts.clear();
        fold_span_verdicts(verdicts, v);
        open = true;
    }
    std::vector<AlertSample> take() {
        open = false;
        return alert_span_samples(span.take(), span_snap, verdicts);
    }
};

using test::series_sample;

Snapshot host_snapshot(int64_t end_ms, uint64_t out_segs, uint64_t retransmits) {
    Snapshot snap;
    snap.end_unix_ms = end_ms;
    snap.system.mem_total_bytes = 1000;
    snap.system.mem_available_bytes = static_cast<uint64_t>(900 - end_ms % 1000 / 10);
    snap.system.tcp_out_segs = out_segs;
    snap.system.tcp_retransmits = retransmits;
    return snap;
}

std::optional<double> sample_value(std::span<const AlertSample> samples, const SeriesKey& key) {
    for (const auto& s : samples)
        if (s.key == key) return s.value;
    return std::nullopt;
}

TEST(AlertSpan, OneIntervalSpanSeesWhatTheIntervalGave) {
    Snapshot snap = host_snapshot(5000, 1000, 7);
    snap.oom_kills.push_back(OomKill{42, "hog", 0, 0});
    const std::vector<SeriesSample> series = {
        series_sample("cpu_busy_pct", {}, MetricKind::gauge, 55),
        series_sample("lat_p99_us", {{"device", "sda"}}, MetricKind::gauge, 900),
        series_sample("read_bytes", {{"pid", "1"}}, MetricKind::counter, 4096),
        series_sample("rss_bytes", {{"pid", "1"}}, MetricKind::level, 1 << 20),
        series_sample("runq_hist", {{"pid", "1"}}, MetricKind::histogram, 0)};
    const std::vector<Verdict> v = {{"disk", Severity::warning, "sda slow", "sda"}};
    SpanFeed feed;
    feed.add(snap, series, v);
    const auto span = feed.take();
    const auto direct = alert_samples(series, snap, v);
    ASSERT_EQ(span.size(), direct.size());
    for (size_t i = 0; i < span.size(); ++i) {
        EXPECT_EQ(span[i].key, direct[i].key);
        EXPECT_EQ(span[i].value, direct[i].value) << direct[i].key.metric;
        EXPECT_EQ(span[i].note, direct[i].note);
    }
}

TEST(AlertSpan, RulesAtOneSecondAreWhatEveryIntervalGave) {
    // At 1 s a span is one interval: the same events, at the same times, as evaluating
    // every interval.
    ASSERT_EQ(intervals_per_span(1.0), 1u);
    std::vector<AlertRule> rules;
    for (const auto& spec : default_alert_rules()) rules.push_back(compiled(spec));
    rules.push_back(compiled(cpu_rule()));
    AlertEngine every(rules), spans(rules);
    SpanFeed feed;
    const std::vector<double> busy = {50, 75, 80, 90, 90, 90, 90, 90, 88, 40, 30, 75, 75};
    for (size_t i = 0; i < busy.size(); ++i) {
        const int64_t ts = static_cast<int64_t>(i + 1) * 1000;
        Snapshot snap = host_snapshot(ts, 200, i % 3);
        if (i == 4) snap.oom_kills.push_back(OomKill{7, "leaky", 0, 0});
        const std::vector<SeriesSample> series = {
            series_sample("cpu_busy_pct", {}, MetricKind::gauge, busy[i])};
        feed.add(snap, series, {});
        const auto a = every.evaluate(ts, alert_samples(series, snap, {}));
        const auto b = spans.evaluate(ts, feed.take());
        ASSERT_EQ(a.size(), b.size()) << "second " << i + 1;
        for (size_t j = 0; j < a.size(); ++j) {
            EXPECT_EQ(a[j].change, b[j].change);
            EXPECT_EQ(a[j].alert.rule, b[j].alert.rule);
            EXPECT_EQ(a[j].alert.summary, b[j].alert.summary);
            EXPECT_EQ(a[j].alert.starts_ms, b[j].alert.starts_ms);
        }
    }
    EXPECT_EQ(every.firing().size(), spans.firing().size());
}

TEST(AlertSpan, TenthOfASecondIntervalsFoldIntoASecond) {
    SpanFeed feed;
    const SeriesKey busy{"cpu_busy_pct", {}}, p99{"lat_p99_us", {{"device", "sda"}}},
        reads{"read_bytes", {{"pid", "1"}}}, rss{"rss_bytes", {{"pid", "1"}}};
    for (int i = 0; i < 10; ++i) {
        const int64_t ts = 1100 + i * 100;
        // 20 segments sent an interval: each alone is too few for a retransmit rate.
        Snapshot snap = host_snapshot(ts, 20, i == 3 ? 4 : 0);
        if (i == 6) snap.oom_kills.push_back(OomKill{42, "hog", 0, 0});
        feed.add(snap,
                 {series_sample("cpu_busy_pct", {}, MetricKind::gauge, i < 5 ? 100 : 0),
                  series_sample("lat_p99_us", {{"device", "sda"}}, MetricKind::gauge,
                                i == 2 ? 80'000 : 1'000),
                  series_sample("read_bytes", {{"pid", "1"}}, MetricKind::counter, 100),
                  series_sample("rss_bytes", {{"pid", "1"}}, MetricKind::level, 10.0 + i)},
                 std::vector<Verdict>{{"cpu", i == 4 ? Severity::critical : Severity::ok,
                                       i == 4 ? "busy" : "", ""}});
    }
    const auto samples = feed.take();
    EXPECT_DOUBLE_EQ(sample_value(samples, busy).value_or(-1), 50);     // the mean
    EXPECT_DOUBLE_EQ(sample_value(samples, p99).value_or(-1), 80'000);  // the worst
    EXPECT_DOUBLE_EQ(sample_value(samples, reads).value_or(-1), 1000);  // the sum
    EXPECT_DOUBLE_EQ(sample_value(samples, rss).value_or(-1), 19);      // the last
    // 4 of 200 segments of the span: a rate no interval alone had.
    EXPECT_DOUBLE_EQ(sample_value(samples, {"tcp_retrans_pct", {}}).value_or(-1), 2);
    EXPECT_DOUBLE_EQ(
        sample_value(samples, {"oom_kills", {{"comm", "hog"}, {"pid", "42"}}}).value_or(-1), 1);
    // mem_used_pct from the last interval's system sample (900 of 1000 available at 2000 ms).
    EXPECT_DOUBLE_EQ(sample_value(samples, {"mem_used_pct", {}}).value_or(-1), 10);
    const auto worst = std::ranges::find(samples, std::string("verdict_severity"),
                                         [](const AlertSample& s) { return s.key.metric; });
    ASSERT_NE(worst, samples.end());
    EXPECT_DOUBLE_EQ(worst->value, 2);  // the critical interval is not averaged away
    EXPECT_EQ(worst->note, "busy");

    // The built-in rules see the kill and the latency of one interval of ten.
    std::vector<AlertRule> rules;
    for (const auto& spec : default_alert_rules()) rules.push_back(compiled(spec));
    AlertEngine e(std::move(rules));
    const auto ev = e.evaluate(2000, samples);
    EXPECT_TRUE(std::ranges::any_of(ev, [](const AlertEvent& x) {
        return x.alert.rule == "oom_kill" && x.change == AlertChange::fired;
    }));

    // The next span starts afresh: no kill, no retransmits, no critical verdict.
    feed.add(host_snapshot(2100, 200, 0), {}, std::vector<Verdict>{{"cpu", Severity::ok, "", ""}});
    const auto next = feed.take();
    EXPECT_FALSE(sample_value(next, {"oom_kills", {{"comm", "hog"}, {"pid", "42"}}}));
    EXPECT_DOUBLE_EQ(sample_value(next, {"tcp_retrans_pct", {}}).value_or(-1), 0);
    EXPECT_DOUBLE_EQ(sample_value(next, {"verdict_severity", {{"resource", "cpu"}}}).value_or(-1),
                     0);
}

}  // namespace
}  // namespace perfbpf

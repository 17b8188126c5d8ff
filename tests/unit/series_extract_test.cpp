// Series derived from the catalogue: names, labels, which processes keep series of their own
// and what the `other` series sum.
#include "model/series_extract.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <type_traits>
#include <variant>

namespace perfbpf {
namespace {

std::string label(const SeriesKey& k, std::string_view name) {
    for (const auto& [n, v] : k.labels)
        if (n == name) return v;
    return "";
}

bool is_process(const SeriesSample& s) {
    return !label(s.key, "comm").empty();
}

const SeriesSample* find(const std::vector<SeriesSample>& all, std::string_view metric,
                         const Labels& labels) {
    for (const auto& s : all)
        if (s.key.metric == metric && s.key.labels == labels) return &s;
    return nullptr;
}

size_t process_metric_fields() {
    size_t n = 0;
    for (const auto& f : fields<ProcessSample>()) n += metric_kind(f.kind).has_value();
    return n;
}

// Gauges in µs are percentiles; `other` has none of them.
size_t process_percentile_fields() {
    size_t n = 0;
    for (const auto& f : fields<ProcessSample>()) n += f.kind == FieldKind::gauge && f.unit == "us";
    return n;
}

// 200 processes: pid i has cpu_pct i (top 50: 151..200) and read bytes 201 - i (top 50:
// 1..50); nothing else ranks them. Every third one exited.
Snapshot two_hundred() {
    Snapshot s;
    for (int i = 1; i <= 200; ++i) {
        ProcessSample p;
        p.pid = i;
        p.start_time_ticks = 1000 + static_cast<uint64_t>(i);
        p.comm = "p" + std::to_string(i);
        p.cgroup = i % 2 ? "/odd" : "/even";
        p.cpu_pct = i;
        p.read_bytes = static_cast<uint64_t>(201 - i);
        p.oncpu_ns = static_cast<uint64_t>(i) * 1000;
        p.threads = 1;
        p.runq_hist.add_us(static_cast<uint64_t>(i), 1);
        p.runq_lat_p99_us = i;
        p.exited = i % 3 == 0;
        s.processes.push_back(std::move(p));
    }
    return s;
}

TEST(SeriesExtract, TopProcessesKeepTheirSeriesTheRestSumToOther) {
    Snapshot s = two_hundred();
    SeriesPolicy policy;
    policy.watch = {"p100"};
    auto series = snapshot_series(s, policy);

    std::set<std::string> pids;
    size_t process_series = 0;
    for (const auto& x : series) {
        if (!is_process(x)) continue;
        ++process_series;
        if (label(x.key, "comm") != "other") pids.insert(label(x.key, "pid"));
    }
    const size_t kept = 101;  // 1..50, 151..200, and the watched p100
    EXPECT_EQ(pids.size(), kept);
    EXPECT_TRUE(pids.contains("100"));
    EXPECT_FALSE(pids.contains("99"));
    EXPECT_EQ(process_series, kept * process_metric_fields() + process_metric_fields() -
                                  process_percentile_fields());

    double cpu = 0, oncpu = 0, read = 0, threads = 0;
    Log2Histogram hist;
    for (const auto& p : s.processes) {
        const bool dropped = (p.pid > 50 && p.pid < 151 && p.pid != 100);
        if (!dropped) continue;
        cpu += p.cpu_pct;
        oncpu += static_cast<double>(p.oncpu_ns);
        read += static_cast<double>(p.read_bytes);
        threads += p.threads;
        hist.merge(p.runq_hist);
    }
    const Labels other{{"comm", "other"}};
    ASSERT_NE(find(series, "cpu_pct", other), nullptr);
    EXPECT_DOUBLE_EQ(find(series, "cpu_pct", other)->value, cpu);
    EXPECT_DOUBLE_EQ(find(series, "oncpu_ns", other)->value, oncpu);
    EXPECT_DOUBLE_EQ(find(series, "read_bytes", other)->value, read);
    EXPECT_DOUBLE_EQ(find(series, "threads", other)->value, threads);
    EXPECT_EQ(find(series, "runq_hist", other)->hist, hist);
    EXPECT_EQ(find(series, "runq_hist", other)->kind, MetricKind::histogram);
    EXPECT_EQ(find(series, "runq_lat_p99_us", other), nullptr);
}

TEST(SeriesExtract, ProcessSeriesCarryTheirIdentity) {
    Snapshot s = two_hundred();
    auto series = snapshot_series(s, SeriesPolicy{});
    const Labels want{{"cgroup", "/odd"}, {"comm", "p151"}, {"pid", "151"}, {"start", "1151"}};
    const SeriesSample* cpu = find(series, "cpu_pct", want);
    ASSERT_NE(cpu, nullptr);
    EXPECT_DOUBLE_EQ(cpu->value, 151);
    EXPECT_EQ(cpu->kind, MetricKind::gauge);
    EXPECT_NE(find(series, "runq_lat_p99_us", want), nullptr);
    for (const auto& x : series) {
        if (!is_process(x) || label(x.key, "comm") == "other") continue;
        EXPECT_FALSE(label(x.key, "pid").empty());
        EXPECT_FALSE(label(x.key, "start").empty());
        EXPECT_FALSE(label(x.key, "cgroup").empty());
    }
}

TEST(SeriesExtract, ObjectsNestedStructsMapsAndNoDuplicateKeys) {
    Snapshot s = two_hundred();
    s.system.loadavg[2] = 0.75;
    s.system.psi_cpu.available = true;
    s.system.psi_cpu.some.avg10 = 4.5;
    s.system.packet_drops = {{"NO_SOCKET", 7}};
    s.cpus.resize(2);
    s.cpus[1].cpu = 1;
    s.cpus[1].busy_pct = 80;
    CgroupSample c;
    c.path = "/db";
    c.memory.source = "v2";
    c.memory.current_bytes = 4096;
    s.cgroups = {c, CgroupSample{}};
    s.cgroups[1].path = "/nomem";
    DeviceSample d;
    d.name = "sda";
    d.lat_hist.add_us(100, 3);
    s.devices = {d};
    NetnsSample blue, anon;
    blue.name = "blue";
    blue.inode = 1;
    anon.inode = 4026532000;
    anon.rcvbuf_grow = 5;
    s.netns = {blue, anon};
    auto series = snapshot_series(s, SeriesPolicy{});

    std::set<SeriesKey> keys;
    for (const auto& x : series) EXPECT_TRUE(keys.insert(x.key).second) << x.key.metric;
    EXPECT_DOUBLE_EQ(find(series, "loadavg_2", {})->value, 0.75);
    EXPECT_DOUBLE_EQ(find(series, "psi_cpu_some_avg10", {})->value, 4.5);
    EXPECT_EQ(find(series, "psi_cpu_full_avg10", {}), nullptr);  // no "full" here
    EXPECT_EQ(find(series, "psi_io_some_avg10", {}), nullptr);   // not available
    EXPECT_DOUBLE_EQ(find(series, "packet_drops", {{"reason", "NO_SOCKET"}})->value, 7);
    EXPECT_DOUBLE_EQ(find(series, "busy_pct", {{"cpu", "1"}})->value, 80);
    EXPECT_DOUBLE_EQ(find(series, "memory_current_bytes", {{"cgroup", "/db"}})->value, 4096);
    EXPECT_EQ(find(series, "memory_current_bytes", {{"cgroup", "/nomem"}}), nullptr);
    EXPECT_EQ(find(series, "lat_hist", {{"device", "sda"}})->hist.count(), 3u);
    EXPECT_NE(find(series, "tcp_samples", {{"netns", "blue"}}), nullptr);
    EXPECT_DOUBLE_EQ(find(series, "rcvbuf_grow", {{"netns", "4026532000"}})->value, 5);
    EXPECT_EQ(find(series, "rcvbuf_grow", {{"netns", "blue"}}), nullptr);  // null: no series
    EXPECT_EQ(find(series, "name", {{"netns", "blue"}}), nullptr);         // not a metric
}

TEST(SeriesExtract, EverySeriesNameIsInTheCatalogue) {
    Snapshot s = two_hundred();
    s.system.psi_memory.available = true;
    s.system.psi_memory.full = PsiLine{};
    s.system.tcp_states_entered = {{"ESTABLISHED", 1}};
    s.cgroups.resize(1);
    s.cgroups[0].memory.source = "v2";
    s.cgroups[0].memory.pgscan = 1;
    s.devices.resize(1);
    s.cpus.resize(1);
    s.netns.resize(1);
    for (const auto& x : snapshot_series(s, SeriesPolicy{})) {
        const FieldInfo* f = find_metric(x.key.metric);
        ASSERT_NE(f, nullptr) << x.key.metric;
        EXPECT_EQ(f->kind, x.kind) << x.key.metric;
    }
    const FieldInfo* psi = find_metric("psi_memory_full_total_us", ObjectKind::system);
    ASSERT_NE(psi, nullptr);
    EXPECT_EQ(psi->unit, "us");
    EXPECT_EQ(psi->kind, MetricKind::level);
    EXPECT_NE(psi->help.find("/proc/pressure/memory"), std::string::npos);
    EXPECT_EQ(find_metric("memory_pgscan", ObjectKind::cgroup)->kind, MetricKind::counter);
    EXPECT_EQ(find_metric("tcp_states_entered")->key_label, "state");
    EXPECT_EQ(find_metric("cpu_pct", ObjectKind::cgroup)->object, ObjectKind::cgroup);
    EXPECT_EQ(find_metric("pid"), nullptr);
    EXPECT_EQ(find_metric("memory_unavailable"), nullptr);
}

TEST(SeriesExtract, ANameMeansTheSameKindAndUnitOnEveryObject) {
    std::map<std::string, const FieldInfo*> first;
    for (const auto& f : metric_catalogue()) {
        auto [it, fresh] = first.try_emplace(f.name, &f);
        if (fresh) continue;
        EXPECT_EQ(it->second->kind, f.kind) << f.name;
        EXPECT_EQ(it->second->unit, f.unit) << f.name;
    }
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(SeriesExtract, YoungProcessesAreSummedIntoOtherUnlessWatched) {
    Snapshot s;
    s.end_monotonic_ns = 1000ULL * 1'000'000'000;  // 1000 s after boot
    auto proc = [](int pid, const char* comm, uint64_t start_ticks) {
        ProcessSample p;
        p.pid = pid;
        p.comm = comm;
        p.start_time_ticks = start_ticks;
        p.cpu_pct = 50;
        return p;
    };
    s.processes = {proc(1, "old", 10'000), proc(2, "cc1plus", 99'500), proc(3, "watched", 99'900),
                   proc(4, "awk", 0)};  // never seen in /proc: came and went in the interval
    SeriesPolicy pol;
    pol.min_age_s = 30;
    pol.watch = {"watched"};
    std::set<std::string> pids;
    double other_cpu = 0;
    for (const auto& smp : snapshot_series(s, pol)) {
        if (smp.key.metric != "cpu_pct") continue;
        for (const auto& [k, v] : smp.key.labels) {
            if (k == "pid") pids.insert(v);
            if (k == "comm" && v == "other") other_cpu = smp.value;
        }
    }
    EXPECT_EQ(pids, (std::set<std::string>{"1", "3"}));  // cc1plus is 5 s old
    EXPECT_DOUBLE_EQ(other_cpu, 100);
    EXPECT_NEAR(process_age_s(s.processes[1], s.end_monotonic_ns), 5.0, 1e-9);
}

// `other` is added up field by field from the processes' structs: every series it has must
// be what summing their own series by key gives (counters, levels, gauges summed,
// histograms merged, no µs percentiles), with every metric field of the struct set.
TEST(SeriesExtract, OtherEqualsTheSumOfItsProcessesSeries) {
    Snapshot s;
    for (int i = 1; i <= 7; ++i) {
        ProcessSample p;
        p.pid = i;
        p.comm = "p" + std::to_string(i);
        int k = 0;
        for (const auto& f : fields<ProcessSample>()) {
            ++k;
            if (!metric_kind(f.kind)) continue;
            std::visit(
                [&](auto m) {
                    auto& v = p.*m;
                    using T = std::remove_cvref_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, Log2Histogram>)
                        v.add_us(static_cast<uint64_t>(i * k), static_cast<uint64_t>(i));
                    else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
                        v = static_cast<T>(i * 1000 + k);
                },
                f.member);
        }
        s.processes.push_back(std::move(p));
    }
    SeriesPolicy all;
    all.top_processes = 100;
    std::map<std::string, SeriesSample> summed;
    for (const auto& x : snapshot_series(s, all)) {
        if (!is_process(x) ||
            (x.kind == MetricKind::gauge && find_metric(x.key.metric)->unit == "us"))
            continue;
        auto [it, fresh] = summed.try_emplace(x.key.metric, x);
        if (fresh) continue;
        it->second.value += x.value;
        it->second.hist.merge(x.hist);
    }
    SeriesPolicy none;
    none.top_processes = 0;
    std::map<std::string, SeriesSample> other;
    std::vector<std::string> order;
    for (const auto& x : snapshot_series(s, none)) {
        if (!is_process(x)) continue;
        EXPECT_EQ(x.key.labels, (Labels{{"comm", "other"}}));
        other.emplace(x.key.metric, x);
        order.push_back(x.key.metric);
    }
    EXPECT_TRUE(std::ranges::is_sorted(order));
    ASSERT_EQ(other.size(), summed.size());
    for (const auto& [metric, x] : summed) {
        ASSERT_TRUE(other.contains(metric)) << metric;
        EXPECT_DOUBLE_EQ(other.at(metric).value, x.value) << metric;
        EXPECT_EQ(other.at(metric).hist, x.hist) << metric;
        EXPECT_EQ(other.at(metric).kind, x.kind) << metric;
    }
}

// The `other` sum adds numbers, histograms, optionals and maps field by field; a nested
// struct or a flag would need rules of their own there.
TEST(SeriesExtract, ProcessesHoldOnlyFieldsOtherCanSum) {
    for (const auto& f : fields<ProcessSample>()) {
        if (!metric_kind(f.kind)) continue;
        std::visit(
            [&](auto m) {
                using T = std::remove_cvref_t<decltype(ProcessSample{}.*m)>;
                constexpr bool summable = std::is_same_v<T, Log2Histogram> ||
                                          std::is_same_v<T, std::optional<uint64_t>> ||
                                          std::is_same_v<T, CountMap> || std::is_array_v<T> ||
                                          (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
                EXPECT_TRUE(summable) << f.name;
            },
            f.member);
    }
}

}  // namespace
}  // namespace perfbpf

// The anomaly detector (detect/incidents.h AnomalyDetector) on a 2,000-series host at 1 s,
// with Google Benchmark. Each iteration is one interval: every series scored against its
// baseline (baselines recomputed every 10 intervals, staggered), seasonal profiles learned,
// anomalies grouped into incidents. Generating the interval's values is not timed.
//   BM_Feed/mode:0   quiet: noise only, after the baselines' first 10 minutes
//   BM_Feed/mode:1   storm: the same with 5 % of the series stepping up at once, for a
//                    minute of every ten (incidents opening, growing and closing)
//   BM_Feed/mode:2   seasonal: every series seeded with 3 days of minute means (seasonal
//                    expectations in every score)
// Counters: core_pct_at_1s (CPU per interval as % of one core at a 1 s interval; the
// target is <= 1 % together with forecasting), B/series (the detector's memory per series),
// incidents (opened in the timed intervals).
//
//   build/bench/anomaly_bench [--benchmark_format=json]
#include <benchmark/benchmark.h>
#include <time.h>

#include <random>
#include <string>
#include <vector>

#include "detect/incidents.h"

namespace perfbpf {
namespace {

constexpr int64_t kT0 = 1'796'428'800'000;  // 2026-12-05T00:00:00Z
constexpr size_t kSeries = 2000;

// A host's series in the mix snapshot_series gives: per process (200 of them) cpu, memory,
// I/O, run-queue and fault series; per cgroup (40) the same and PSI; per CPU and device a
// few; the system's.
struct Spec {
    SeriesKey key;
    MetricKind kind;
    double level, noise;
};

std::vector<Spec> host_series() {
    std::vector<Spec> out;
    const std::pair<const char*, MetricKind> process_metrics[] = {
        {"cpu_pct", MetricKind::gauge},        {"rss_bytes", MetricKind::level},
        {"read_bytes", MetricKind::counter},   {"write_bytes", MetricKind::counter},
        {"runq_wait_ns", MetricKind::counter}, {"runq_hist", MetricKind::histogram},
        {"minor_faults", MetricKind::counter}, {"vol_switches", MetricKind::counter}};
    for (size_t p = 0; out.size() < 1600; ++p) {
        const std::string cgroup = "/system.slice/svc" + std::to_string(p % 40) + ".service";
        for (auto [m, kind] : process_metrics)
            out.push_back({{m,
                            {{"cgroup", cgroup},
                             {"comm", "worker" + std::to_string(p)},
                             {"pid", std::to_string(1000 + p)},
                             {"start", std::to_string(52'000 + p)}}},
                           kind,
                           1000.0 + double(p),
                           50});
    }
    const char* cgroup_metrics[] = {
        "cpu_pct",           "runq_wait_ns",         "rss_bytes",  "psi_cpu_some_avg10",
        "psi_io_some_avg10", "memory_current_bytes", "read_bytes", "write_bytes",
        "runq_lat_p99_us"};
    for (size_t c = 0; out.size() < 1960; ++c)
        for (const char* m : cgroup_metrics)
            if (out.size() < 1960)
                out.push_back(
                    {{m, {{"cgroup", "/system.slice/svc" + std::to_string(c) + ".service"}}},
                     MetricKind::gauge,
                     200,
                     10});
    for (size_t i = 0; out.size() < kSeries; ++i)
        out.push_back({{"busy_pct", {{"cpu", std::to_string(i)}}}, MetricKind::gauge, 30, 3});
    return out;
}

class Host {
  public:
    Host() : specs_(host_series()), samples_(specs_.size()), rng_(1) {
        for (size_t i = 0; i < specs_.size(); ++i) {
            samples_[i].key = specs_[i].key;
            samples_[i].kind = specs_[i].kind;
        }
    }
    // One interval's values; `stepping` series (every 20th) up by 100 noise units.
    const std::vector<SeriesSample>& next(bool stepping) {
        std::normal_distribution<double> n(0, 1);
        for (size_t i = 0; i < specs_.size(); ++i) {
            const Spec& s = specs_[i];
            const double step = stepping && i % 20 == 0 ? 100 * s.noise : 0;
            if (s.kind == MetricKind::histogram) {
                samples_[i].hist = Log2Histogram{};
                samples_[i].hist.add_us(uint64_t(s.level + s.noise * std::abs(n(rng_)) + step), 40);
                samples_[i].hist.add_us(uint64_t(s.level / 4), 200);
            } else {
                samples_[i].value = std::max(0.0, s.level + s.noise * n(rng_) + step);
            }
        }
        return samples_;
    }
    const std::vector<Spec>& specs() const { return specs_; }

  private:
    std::vector<Spec> specs_;
    std::vector<SeriesSample> samples_;
    std::mt19937_64 rng_;
};

double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

enum Mode { quiet, storm, seasonal };

void BM_Feed(benchmark::State& state) {
    const Mode mode = Mode(state.range(0));
    Host host;
    AnomalyDetector d;
    int64_t ts = kT0;
    if (mode == seasonal) {
        std::vector<std::pair<int64_t, double>> minutes;
        for (const Spec& s : host.specs()) {
            minutes.clear();
            for (int64_t m = 0; m < 3 * 1440; ++m)
                minutes.push_back({kT0 - 3 * 86'400'000 + m * 60'000, s.level});
            d.seed(s.key, s.kind, minutes, 60'000);
        }
    }
    for (int i = 0; i < 700; ++i, ts += 1000) d.feed(ts, host.next(false));
    size_t incidents = 0;
    double cpu = 0;
    int64_t interval = 0;
    for (auto _ : state) {
        const bool stepping = mode == storm && interval++ % 600 < 60;
        const auto& samples = host.next(stepping);
        const double t0 = thread_cpu_s();
        const auto events = d.feed(ts, samples);
        cpu += thread_cpu_s() - t0;
        ts += 1000;
        for (const auto& e : events) incidents += e.change == IncidentChange::opened;
        benchmark::DoNotOptimize(events.data());
    }
    const double per_interval = cpu / double(state.iterations());
    state.counters["core_pct_at_1s"] = per_interval * 100;
    state.counters["series"] = double(d.scorer().series());
    state.counters["B/series"] = double(d.scorer().bytes()) / double(d.scorer().series());
    state.counters["incidents"] = double(incidents);
}
BENCHMARK(BM_Feed)->ArgName("mode")->Arg(quiet)->Arg(storm)->Arg(seasonal)->Iterations(1200)->Unit(
    benchmark::kMicrosecond);

}  // namespace
}  // namespace perfbpf

BENCHMARK_MAIN();

// The history store under a host's load, with Google Benchmark: ~2000 series collected
// every second, as perfbpf's daemon would hand them to store/History.
//   BM_Ingest        one append of every series' interval; samples/s on one core, head
//                    compactions included (the run covers two raw chunk spans)
//   BM_BytesPerSample  1 h of the mix, flushed into chunks: bytes per stored sample, of
//                    the chunks alone and of the whole file, and per kind of series
//   BM_QueryDay/STEP one series over one day at 1 s, raw (0) or at 1 min / 1 h steps
//
//   build/bench/history_bench [--benchmark_filter=Ingest] [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "store/history.h"
#include "store/sqlite_db.h"
#include "util/scratch_dir.h"

namespace perfbpf {
namespace {

constexpr int64_t kT0 = 1'796'428'800'000;  // 2026-12-05T00:00:00Z
constexpr size_t kSeries = 2000;

// The kinds of series a host has, in the share they come in: most are constant (an idle
// process's threads, a limit), many move slowly (a mostly idle process's bytes per
// interval), few are noisy (a busy process's CPU share at full precision, its bytes).
enum class Shape { constant, slow_counter, noisy_counter, noisy_gauge, histogram };
const char* shape_name(Shape s) {
    switch (s) {
        case Shape::constant:
            return "constant";
        case Shape::slow_counter:
            return "slow_counter";
        case Shape::noisy_counter:
            return "noisy_counter";
        case Shape::noisy_gauge:
            return "noisy_gauge";
        case Shape::histogram:
            return "histogram";
    }
    return "";
}
Shape shape_of(size_t i) {
    size_t p = i % 100;
    if (p < 45) return Shape::constant;
    if (p < 75) return Shape::slow_counter;
    if (p < 87) return Shape::noisy_counter;
    if (p < 95) return Shape::noisy_gauge;
    return Shape::histogram;
}

// A synthetic host: one interval's values at a time, each series following its shape.
class Host {
  public:
    explicit Host(History& h, size_t n) : rng_(1), state_(n) {
        for (size_t i = 0; i < n; ++i) {
            Shape s = shape_of(i);
            MetricKind kind = s == Shape::histogram     ? MetricKind::histogram
                              : s == Shape::noisy_gauge ? MetricKind::gauge
                              : s == Shape::constant    ? MetricKind::level
                                                        : MetricKind::counter;
            SeriesId id = h.intern(
                {shape_name(s),
                 {{"comm", "proc" + std::to_string(i % 97)}, {"pid", std::to_string(1000 + i)}}},
                kind);
            state_[i] = static_cast<double>(rng_() % 100000);
            if (s == Shape::histogram)
                hists_.push_back({id, Log2Histogram{}});
            else
                values_.push_back({id, 0});
            shapes_.push_back(s);
        }
        for (auto& [id, h] : hists_) hist_refs_.push_back({id, &h});
    }

    void next() {
        size_t v = 0, hi = 0;
        for (size_t i = 0; i < shapes_.size(); ++i) {
            double& x = state_[i];
            switch (shapes_[i]) {
                case Shape::constant:
                    values_[v++].second = x;
                    break;
                case Shape::slow_counter:
                    values_[v++].second = rng_() % 30 == 0 ? static_cast<double>(rng_() % 64) : 0;
                    break;
                case Shape::noisy_counter:
                    values_[v++].second = static_cast<double>(4096 * (rng_() % 256));
                    break;
                case Shape::noisy_gauge:
                    values_[v++].second = static_cast<double>(rng_() % 10000) / 97.0;
                    break;
                case Shape::histogram: {
                    auto& h = hists_[hi++].second;
                    h = Log2Histogram{};
                    uint64_t events = rng_() % 4 == 0 ? rng_() % 500 : 0;
                    for (uint64_t e = 0; e < events; e += 50) h.add_us(2 + rng_() % 200, 50);
                    break;
                }
            }
        }
    }
    size_t samples() const { return shapes_.size(); }
    Result<void> append(History& h, int64_t ts) { return h.append(ts, values_, hist_refs_); }

  private:
    std::mt19937_64 rng_;
    std::vector<double> state_;
    std::vector<Shape> shapes_;
    std::vector<std::pair<SeriesId, double>> values_;
    std::vector<std::pair<SeriesId, Log2Histogram>> hists_;
    std::vector<std::pair<SeriesId, const Log2Histogram*>> hist_refs_;
};

History open_or_die(const std::string& dir) {
    auto h = History::open(dir);
    if (!h) {
        std::fprintf(stderr, "%s\n", h.error().message.c_str());
        std::exit(1);
    }
    return std::move(*h);
}

void BM_Ingest(benchmark::State& state) {
    ScratchDir dir("perfbpf-history-bench");
    History h = open_or_die(dir.path());
    Host host(h, kSeries);
    int64_t ts = kT0;
    for (auto _ : state) {
        state.PauseTiming();
        host.next();
        state.ResumeTiming();
        if (auto r = host.append(h, ts); !r) state.SkipWithError(r.error().message.c_str());
        ts += 1000;
    }
    state.counters["samples/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * host.samples()), benchmark::Counter::kIsRate);
    state.counters["deferred"] = static_cast<double>(h.deferred_failures());
}
// Two raw chunk spans of 1 s intervals, so two head compactions are in the time.
BENCHMARK(BM_Ingest)->Iterations(7300)->Unit(benchmark::kMicrosecond);

int64_t scalar(const std::string& db_path, const std::string& sql) {
    auto db = store::Db::open(db_path);
    auto v = db ? db->scalar(sql, "bench") : Result<int64_t>(0);
    return v ? *v : -1;
}

void BM_BytesPerSample(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        ScratchDir dir("perfbpf-history-bench");
        History h = open_or_die(dir.path());
        Host host(h, kSeries);
        for (int64_t s = 0; s < 3600; ++s) {
            host.next();
            if (auto r = host.append(h, kT0 + s * 1000); !r)
                state.SkipWithError(r.error().message.c_str());
        }
        if (auto r = h.flush(); !r) state.SkipWithError(r.error().message.c_str());
        // Returns the head's freed pages and checkpoints, so the file is what is kept.
        if (auto r = h.enforce_retention(kT0 + 3'600'000); !r)
            state.SkipWithError(r.error().message.c_str());
        const double samples = 3600.0 * kSeries;
        const std::string db = dir.path() + "/history.db";
        state.counters["chunk_B/sample"] =
            static_cast<double>(scalar(db, "SELECT sum(length(blob)) FROM chunks")) / samples;
        state.counters["file_B/sample"] = static_cast<double>(h.bytes_on_disk()) / samples;
        for (Shape s : {Shape::constant, Shape::slow_counter, Shape::noisy_counter,
                        Shape::noisy_gauge, Shape::histogram}) {
            std::string q =
                "SELECT sum(length(c.blob)) FROM chunks c JOIN series s ON "
                "s.id = c.series_id WHERE s.metric = '" +
                std::string(shape_name(s)) + "'";
            double bytes = static_cast<double>(scalar(db, q));
            double n = static_cast<double>(
                scalar(db,
                       "SELECT sum(c.count) FROM chunks c JOIN series s ON s.id = c.series_id "
                       "WHERE s.metric = '" +
                           std::string(shape_name(s)) + "'"));
            state.counters[std::string(shape_name(s)) + "_B/sample"] = n > 0 ? bytes / n : 0;
        }
        state.ResumeTiming();
    }
}
BENCHMARK(BM_BytesPerSample)->Iterations(1)->Unit(benchmark::kMillisecond);

// One day at 1 s of a smaller host (the query reads one series' chunks; the others only
// make the series table and the chunk index realistic).
struct DayStore {
    ScratchDir dir{"perfbpf-history-bench"};
    History h;
    DayStore() : h(open_or_die(dir.path())) {
        Host host(h, 200);
        for (int64_t s = 0; s < 86'400; ++s) {
            host.next();
            if (!host.append(h, kT0 + s * 1000)) std::exit(1);
        }
    }
};

void BM_QueryDay(benchmark::State& state) {
    static DayStore store;
    auto sel = parse_selector(R"(slow_counter{pid="1050"})");
    size_t points = 0;
    for (auto _ : state) {
        auto r = store.h.query(*sel, kT0, kT0 + 86'400'000 - 1, state.range(0));
        if (!r || r->size() != 1) {
            state.SkipWithError(r ? "not one series" : r.error().message.c_str());
            break;
        }
        points = (*r)[0].points.size();
        benchmark::DoNotOptimize(r);
    }
    state.counters["points"] = static_cast<double>(points);
}
BENCHMARK(BM_QueryDay)->Arg(0)->Arg(60'000)->Arg(3'600'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace perfbpf

BENCHMARK_MAIN();

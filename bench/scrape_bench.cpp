// The central side's costs on a synthetic host of 1,000 processes (no root, no kernel), with
// Google Benchmark:
//   BM_ScrapeRender/TOP  one GET /metrics: Exposition::render after an interval's series.
//                        TOP processes get series of their own: 50 is the default policy
//                        (the rest summed into comm="other"), 1000 keeps every process
//   BM_IntervalUpdate/TOP  the daemon's side of the same page each interval:
//                        snapshot_series + Exposition::update
//   BM_AlertEval/TOP     AlertEngine::evaluate of the default rules over one interval's
//                        samples; per_rule_ms is that time divided by the rules
//   BM_AlertRule/NAME    one default rule alone, every process kept
// Targets (README "For the central side"): scrape <= 50 ms, evaluation <= 1 ms per rule.
//
//   build/bench/scrape_bench [--benchmark_filter=Scrape]
#include <benchmark/benchmark.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "detect/alert_rules.h"
#include "detect/verdict_window.h"
#include "model/finalize.h"
#include "model/series_extract.h"
#include "sinks/prometheus.h"

namespace perfbpf {
namespace {

constexpr size_t kProcesses = 1000;
constexpr int kCpus = 8;
constexpr int kCgroups = 40;
constexpr int kDevices = 4;
constexpr int64_t kT0 = 1'796'428'800'000;  // 2026-12-05T00:00:00Z
constexpr uint64_t kIntervalNs = 1'000'000'000;

// A busy host, one interval at a time: every process runs, does some I/O and networking;
// each keeps its own level and moves by up to a fifth around it each interval, so the top
// lists change at their margins as on a real host, not wholesale. Loaded enough that the default
// rules have something to hold: CPU 90 % busy, memory 81 % in use, swap 25 %, one disk at
// 60 ms p99 and queue depth 10, 0.2 % of TCP segments retransmitted.
class SyntheticHost {
  public:
    Snapshot next() {
        Snapshot s;
        ++interval_;
        s.interval_ns = kIntervalNs;
        s.end_monotonic_ns = 86'400 * kIntervalNs + interval_ * kIntervalNs;
        s.end_unix_ms = kT0 + static_cast<int64_t>(interval_) * 1000;
        fill_system(s.system);
        for (int c = 0; c < kCpus; ++c) {
            CpuSample cpu;
            cpu.cpu = c;
            cpu.busy_pct = 85 + jitter(10);
            cpu.runq_waits = 2000;
            cpu.runq_wait_ns = 40'000'000;
            fill_hist(cpu.runq_hist, 2000, 4, 12);
            cpu.runq_avg_waiting = 0.04;
            s.cpus.push_back(cpu);
        }
        for (int d = 0; d < kDevices; ++d) s.devices.push_back(device(d));
        for (size_t i = 0; i < kProcesses; ++i) s.processes.push_back(process(i));
        for (int n = 0; n < 3; ++n) {
            NetnsSample ns;
            ns.inode = 4026531840u + static_cast<uint64_t>(n);
            ns.name = n == 0 ? "host" : "ns" + std::to_string(n);
            ns.processes = static_cast<int>(kProcesses) / 3;
            ns.tcp_tx_bytes = 1'000'000 + rng_() % 100'000;
            ns.packet_drops = {{"NO_SOCKET", 3}, {"TCP_CSUM", 1}};
            ns.packet_drops_total = 4;
            ns.tcp_samples = 500;
            fill_hist(ns.srtt_hist, 500, 6, 14);
            s.netns.push_back(ns);
        }
        finalize_snapshot(s);
        return s;
    }

  private:
    double jitter(double span) { return span * static_cast<double>(rng_() % 1000) / 1000.0; }
    // Process i's level of some measure (spread over 1..max by a fixed hash of i) this
    // interval: 0.8 to 1.2 times it.
    uint64_t level(size_t i, uint64_t max, uint64_t salt) {
        const uint64_t base = 1 + ((i * 2654435761u + salt * 40503u) % 1009) * max / 1009;
        return static_cast<uint64_t>(static_cast<double>(base) * (0.8 + jitter(0.4)));
    }

    // `n` samples spread over the slots [lo, hi].
    void fill_hist(Log2Histogram& h, uint64_t n, size_t lo, size_t hi) {
        for (size_t slot = lo; slot <= hi; ++slot) h.add_slot(slot, n / (hi - lo + 1));
    }

    void fill_system(SystemSample& sys) {
        sys.kernel = "6.1.0-synthetic";
        sys.ncpus = kCpus;
        sys.loadavg[0] = 7.5, sys.loadavg[1] = 7.1, sys.loadavg[2] = 6.8;
        sys.running = 8;
        sys.total_tasks = static_cast<int>(kProcesses) * 3;
        sys.cpu_user_pct = 70 + jitter(5), sys.cpu_system_pct = 18, sys.cpu_iowait_pct = 2;
        sys.cpu_idle_pct = 10;
        sys.cpu_busy_pct = 100 - sys.cpu_idle_pct;
        sys.context_switches = 90'000 + rng_() % 10'000;
        sys.mem_total_bytes = 32ull << 30;
        sys.mem_available_bytes = 6ull << 30;
        sys.mem_free_bytes = 2ull << 30;
        sys.swap_total_bytes = 8ull << 30;
        sys.swap_free_bytes = 6ull << 30;
        sys.minor_faults = 50'000, sys.major_faults = 12;
        for (Psi* p : {&sys.psi_cpu, &sys.psi_memory, &sys.psi_io}) {
            p->available = true;
            p->some = {12 + jitter(2), 10, 8, 1'000'000 * interval_, 11};
            p->full = PsiLine{2, 2, 1, 100'000 * interval_, 2};
        }
        sys.tcp_out_segs = 10'000;
        sys.tcp_retransmits = 20;
        sys.tcp_tx_bytes = 12'000'000, sys.tcp_rx_bytes = 9'000'000;
        sys.tcp_states_entered = {{"ESTABLISHED", 40}, {"CLOSE", 38}, {"TIME_WAIT", 35}};
        sys.packet_drops = {{"NO_SOCKET", 9}, {"TCP_CSUM", 1}};
        sys.packet_drops_total = 10;
        sys.tcp_rtt_samples = 4000;
        sys.tcp_srtt_p99_us = 900;
    }

    DeviceSample device(int d) {
        DeviceSample dev;
        dev.name = "nvme" + std::to_string(d) + "n1";
        dev.major = 259, dev.minor = static_cast<uint32_t>(d);
        dev.read_bytes = 50'000'000 + rng_() % 1'000'000;
        dev.write_bytes = 20'000'000;
        dev.read_ios = 4000, dev.write_ios = 1500;
        fill_hist(dev.lat_hist, 5500, 6, d == 0 ? 16 : 10);
        fill_hist(dev.read_lat_hist, 4000, 6, 10);
        fill_hist(dev.write_lat_hist, 1500, 7, 11);
        dev.lat_source = "issue";
        dev.lat_p50_us = 200;
        dev.lat_p99_us = d == 0 ? 60'000 : 900;
        dev.read_lat_p99_us = dev.lat_p99_us, dev.write_lat_p99_us = 1'200;
        dev.inflight_max = 32;
        dev.util_pct = 70;
        dev.avg_queue_depth = d == 0 ? 10 : 2;
        return dev;
    }

    ProcessSample process(size_t i) {
        ProcessSample p;
        p.pid = 1000 + static_cast<int>(i);
        p.start_time_ticks = 100 + i;
        p.ppid = 1;
        p.comm = "worker-" + std::to_string(i % 97);
        p.cgroup = "/system.slice/svc" + std::to_string(i % kCgroups) + ".service";
        p.threads = 1 + static_cast<int>(i % 8);
        p.oncpu_ns = level(i, kIntervalNs / 50, 1);
        p.runq_waits = 10 + level(i, 50, 2);
        p.runq_wait_ns = p.runq_waits * 20'000;
        fill_hist(p.runq_hist, p.runq_waits, 3, 9);
        p.offcpu_ns = kIntervalNs - p.oncpu_ns;
        p.vol_switches = 20 + rng_() % 100;
        p.invol_switches = rng_() % 20;
        p.read_bytes = 4096 * level(i, 64, 3);
        p.write_bytes = 4096 * level(i, 16, 4);
        p.read_ios = p.read_bytes / 4096, p.write_ios = p.write_bytes / 4096;
        fill_hist(p.io_lat_hist, p.read_ios + p.write_ios, 6, 10);
        p.tcp_tx_bytes = level(i, 100'000, 5);
        p.tcp_rx_bytes = level(i, 100'000, 6);
        p.tcp_retransmits = rng_() % 3;
        p.rss_bytes = (20ull << 20) + level(i, 200ull << 20, 7);
        p.rss_growth_bytes = static_cast<int64_t>(rng_() % 65536) - 32768;
        p.rss_peak_bytes = p.rss_bytes + 4096;
        p.minor_faults = rng_() % 500;
        return p;
    }

    std::mt19937_64 rng_{1};
    uint64_t interval_ = 0;
};

SeriesPolicy policy_keeping(size_t top) {
    SeriesPolicy p;
    p.top_processes = top;
    return p;
}

// An Exposition that has seen a few intervals, so counters have totals and nothing is new.
Exposition warmed_exposition(SyntheticHost& host, const SeriesPolicy& policy) {
    Exposition e;
    for (int i = 0; i < 3; ++i) e.update(snapshot_series(host.next(), policy));
    return e;
}

void BM_ScrapeRender(benchmark::State& state) {
    SyntheticHost host;
    const SeriesPolicy policy = policy_keeping(static_cast<size_t>(state.range(0)));
    Exposition expo = warmed_exposition(host, policy);
    DaemonStatus status;
    std::string page;
    for (auto _ : state) {
        state.PauseTiming();
        expo.update(snapshot_series(host.next(), policy));
        page.clear();  // the last page is freed outside the timing, as a served one would be
        page.shrink_to_fit();
        state.ResumeTiming();
        page = expo.render(status);
        benchmark::DoNotOptimize(page);
    }
    const size_t bytes = page.size();
    state.counters["series"] = static_cast<double>(expo.series());
    state.counters["page_kB"] = static_cast<double>(bytes) / 1000;
}
// Fixed iterations: making each interval's snapshot (paused) costs far more than what is
// timed, and Google Benchmark would run until the timed part alone reached its minimum.
BENCHMARK(BM_ScrapeRender)->Arg(50)->Arg(1000)->Iterations(30)->Unit(benchmark::kMillisecond);

void BM_IntervalUpdate(benchmark::State& state) {
    SyntheticHost host;
    const SeriesPolicy policy = policy_keeping(static_cast<size_t>(state.range(0)));
    Exposition expo = warmed_exposition(host, policy);
    Snapshot snap;  // assigned while paused: the last one is freed outside the timing
    for (auto _ : state) {
        state.PauseTiming();
        snap = host.next();
        state.ResumeTiming();
        expo.update(snapshot_series(snap, policy));
    }
    state.counters["series"] = static_cast<double>(expo.series());
}
BENCHMARK(BM_IntervalUpdate)->Arg(50)->Arg(1000)->Iterations(30)->Unit(benchmark::kMillisecond);

std::vector<AlertRule> compiled(std::span<const AlertRuleSpec> specs) {
    std::vector<AlertRule> out;
    for (const auto& s : specs) {
        auto r = compile_rule(s);
        if (!r) {
            std::fprintf(stderr, "scrape_bench: %s\n", r.error().message.c_str());
            std::exit(1);
        }
        out.push_back(std::move(*r));
    }
    return out;
}

// Thread CPU time: on this shared host wall time also counts other work's time slices.
double thread_cpu_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// Evaluates `rules` on fresh intervals; only evaluate() is timed (its inputs are made and
// freed while paused). per_rule_ms and per_rule_cpu_ms: its wall and CPU time over the
// rules.
void run_alert_rules(benchmark::State& state, std::vector<AlertRule> rules, size_t top) {
    SyntheticHost host;
    const SeriesPolicy policy = policy_keeping(top);
    VerdictWindow verdicts{Thresholds{}};
    const size_t n_rules = rules.size();
    AlertEngine engine(std::move(rules));
    Snapshot snap;
    std::vector<AlertSample> alert_in;
    std::vector<AlertEvent> events;
    std::chrono::steady_clock::duration spent{};
    double cpu_ms = 0;
    for (auto _ : state) {
        state.PauseTiming();
        snap = host.next();
        alert_in = alert_samples(snapshot_series(snap, policy), snap, verdicts.push(snap));
        events.clear();
        state.ResumeTiming();
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = thread_cpu_ms();
        events = engine.evaluate(snap.end_unix_ms, alert_in);
        cpu_ms += thread_cpu_ms() - cpu_start;
        spent += std::chrono::steady_clock::now() - start;
        benchmark::DoNotOptimize(events);
    }
    const size_t samples = alert_in.size(), firing = engine.firing().size();
    const auto iterations = static_cast<double>(state.iterations());
    const double ms = std::chrono::duration<double, std::milli>(spent).count() / iterations;
    state.counters["rules"] = static_cast<double>(n_rules);
    state.counters["samples"] = static_cast<double>(samples);
    state.counters["firing"] = static_cast<double>(firing);
    state.counters["per_rule_ms"] = ms / static_cast<double>(n_rules);
    state.counters["per_rule_cpu_ms"] = cpu_ms / iterations / static_cast<double>(n_rules);
}

void BM_AlertEval(benchmark::State& state) {
    run_alert_rules(state, compiled(default_alert_rules()), static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_AlertEval)->Arg(50)->Arg(1000)->Iterations(100)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace perfbpf

int main(int argc, char** argv) {
    using namespace perfbpf;
    for (const auto& spec : default_alert_rules())
        benchmark::RegisterBenchmark(("BM_AlertRule/" + spec.name).c_str(),
                                     [spec](benchmark::State& state) {
                                         run_alert_rules(state, compiled(std::span(&spec, 1)),
                                                         kProcesses);
                                     })
            ->Iterations(100)
            ->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

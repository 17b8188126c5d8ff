// Userspace throughput of the event pipeline, with Google Benchmark: what `perfbpf top`
// does with the records the kernel side leaves it each interval, on synthetic records.
//
// The BPF programs aggregate in the kernel, so user space never sees a scheduler or block
// event one by one: per interval it gets one record per thread (sched), per process
// (block, net, mem) and per device, plus the discrete events of the ring buffer (exec,
// exit, OOM kill). A "record" here is one of those, and items/s counts records decoded
// and aggregated into a finalized Snapshot per second on one core:
//   BM_Deltas/FAMILY              one family's interval deltas into a SnapshotBuilder
//   BM_Interval                   every family's records of one interval, then
//                                 SnapshotBuilder::take and finalize_snapshot
//   BM_RingDrain (root)           collect/event_ring draining a real BPF ring buffer that
//                                 bench/ring_fill.bpf.c filled through BPF_PROG_TEST_RUN
//   BM_MapRead (root)             collect/bpf_map_iter reading a real BPF hash of sched
//                                 records (the syscalls every reader makes per entry)
// Record generation (counters growing between intervals) is excluded from the timing.
//
//   build/bench/pipeline_bench [--benchmark_format=json] [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "collect/bpf_map_iter.h"
#include "collect/event_ring.h"
#include "collect/parse/block_deltas.h"
#include "collect/parse/mem_deltas.h"
#include "collect/parse/net_deltas.h"
#include "collect/parse/sched_deltas.h"
#include "collect/source.h"
#include "model/finalize.h"
#include "perfbpf/sched.h"
#include "probes/bpf_object.h"
#include "ring_fill.skel.h"
#include "util/fd.h"

namespace perfbpf {
namespace {

constexpr int kCpus = 2;
constexpr uint64_t kIntervalNs = 1'000'000'000;

// The records of one interval, as a machine with `threads` threads in threads/4 processes
// would leave them: every thread has a sched record, every process an RSS slot, one in
// ten processes does block I/O and one in ten TCP.
struct Workload {
    std::vector<sched_task_stats> threads;
    sched_cpu_stats cpus[kCpus]{};
    std::vector<std::pair<uint32_t, block_proc_stats>> block;
    std::vector<std::pair<uint32_t, net_proc_stats>> net;
    std::vector<std::pair<uint32_t, mem_rss_slot>> mem;

    explicit Workload(size_t nthreads) {
        const size_t procs = nthreads / 4 ? nthreads / 4 : 1;
        for (size_t i = 0; i < nthreads; ++i) {
            sched_task_stats s{};
            s.pid = static_cast<uint32_t>(1000 + i);
            s.tgid = static_cast<uint32_t>(1000 + (i % procs) * 4);
            std::snprintf(s.comm, sizeof(s.comm), "worker-%u",
                          static_cast<unsigned>(i % procs % 100000));
            threads.push_back(s);
        }
        for (size_t p = 0; p < procs; ++p) {
            const auto tgid = static_cast<uint32_t>(1000 + p * 4);
            mem.push_back({tgid, mem_rss_slot{1000, 1000}});
            if (p % 10 == 0) block.push_back({tgid, block_proc_stats{}});
            if (p % 10 == 5) net.push_back({tgid, net_proc_stats{}});
        }
    }

    // What the counters have grown to by the end of the next interval.
    void advance() {
        for (size_t i = 0; i < threads.size(); ++i) {
            sched_task_stats& s = threads[i];
            s.oncpu_ns += 1'000'000 + i;
            s.offcpu_ns += 5'000'000;
            s.runq_wait_ns += 20'000 + i % 100;
            s.runq_waits += 10;
            s.nvcsw += 9;
            s.nivcsw += 1;
            s.runq_hist[i % 8] += 7;
            s.runq_hist[3 + i % 11] += 3;
        }
        for (auto& c : cpus) {
            c.busy_ns += 600'000'000;
            c.runq_wait_ns += 9'000'000;
            c.runq_waits += 3000;
            c.nr_running_sum += 60;
            c.nr_running_samples += 49;
            c.runq_hist[4] += 3000;
        }
        for (auto& [_, b] : block) {
            b.read_bytes += 4096 * 100;
            b.read_ios += 100;
            b.write_bytes += 8192;
            b.write_ios += 2;
        }
        for (auto& [_, n] : net) {
            n.tx_bytes += 1 << 20;
            n.rx_bytes += 1 << 16;
        }
        for (auto& [_, m] : mem) m.rss_pages = m.peak_pages = m.rss_pages + 1;
    }
};

// The readers' per-record work, without the map reads (collect/*_reader.cpp).
struct Pipeline {
    SchedDeltas sched;
    BlockDeltas block;
    NetDeltas net;
    MemDeltas mem{4096};

    void add_sched(const Workload& w, SnapshotBuilder& b) {
        for (uint32_t i = 0; i < w.threads.size(); ++i) sched.add_thread(i, w.threads[i], b);
        sched.end_read();
        for (int cpu = 0; cpu < kCpus; ++cpu) sched.add_cpu(cpu, w.cpus[cpu], kIntervalNs, b);
    }
    void add_block(const Workload& w, SnapshotBuilder& b) {
        for (const auto& [tgid, s] : w.block) {
            BlockProcDelta d = block.process(tgid, s);
            if (!d.any()) continue;
            ProcessSample& p = b.process(static_cast<int>(tgid));
            p.read_bytes += d.read_bytes;
            p.write_bytes += d.write_bytes;
            p.read_ios += d.read_ios;
            p.write_ios += d.write_ios;
        }
        block.end_read();
    }
    void add_net(const Workload& w, SnapshotBuilder& b) {
        for (const auto& [tgid, s] : w.net) {
            NetProcessDelta d = net.add_process(tgid, s);
            if (d.empty()) continue;
            ProcessSample& p = b.process(static_cast<int>(tgid));
            p.tcp_tx_bytes += d.tx_bytes;
            p.tcp_rx_bytes += d.rx_bytes;
            p.tcp_retransmits += d.retransmits;
        }
        net.end_read();
    }
    void add_mem(const Workload& w, SnapshotBuilder& b) { mem.apply(w.mem, {}, b); }
};

// Runs `step` once per interval on a fresh builder; `records` per interval are counted.
template <class Step>
void run_intervals(benchmark::State& state, Workload& w, size_t records, Step step) {
    CollectContext ctx;
    ctx.interval_ns = kIntervalNs;
    for (auto _ : state) {
        state.PauseTiming();
        w.advance();
        ctx.now_ns += kIntervalNs;
        state.ResumeTiming();
        SnapshotBuilder builder(ctx);
        step(builder);
        benchmark::DoNotOptimize(builder.processes().size());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records));
}

// One family's records of an interval; `records` counts them.
using AddRecords = void (Pipeline::*)(const Workload&, SnapshotBuilder&);
void BM_Deltas(benchmark::State& state, AddRecords add, size_t (*records)(const Workload&)) {
    Workload w(static_cast<size_t>(state.range(0)));
    Pipeline p;
    run_intervals(state, w, records(w), [&](SnapshotBuilder& b) { (p.*add)(w, b); });
}

void BM_Interval(benchmark::State& state) {
    Workload w(static_cast<size_t>(state.range(0)));
    Pipeline p;
    const size_t records = w.threads.size() + kCpus + w.block.size() + w.net.size() + w.mem.size();
    run_intervals(state, w, records, [&](SnapshotBuilder& b) {
        p.add_sched(w, b);
        p.add_block(w, b);
        p.add_net(w, b);
        p.add_mem(w, b);
        Snapshot snap = b.take();
        finalize_snapshot(snap);
        benchmark::DoNotOptimize(snap.cgroups.size());
    });
}

struct RingFillDeleter {
    void operator()(ring_fill_bpf* s) const { ring_fill_bpf__destroy(s); }
};

// The fill program's context (bench/ring_fill.bpf.c).
struct FillArgs {
    uint32_t count;
    uint32_t submitted;
};

void BM_RingDrain(benchmark::State& state) {
    std::unique_ptr<ring_fill_bpf, RingFillDeleter> skel(ring_fill_bpf__open_and_load());
    if (!skel) {
        state.SkipWithError(("load ring_fill.bpf.o (root needed): " + errno_text(errno)).c_str());
        return;
    }
    auto ring = EventRing::open(bpf_map__fd(skel->maps.bench_ring));
    if (!ring) {
        state.SkipWithError(ring.error().message.c_str());
        return;
    }
    const int prog_fd = bpf_program__fd(skel->progs.fill);
    uint64_t drained = 0;
    for (auto _ : state) {
        state.PauseTiming();
        FillArgs args{static_cast<uint32_t>(state.range(0)), 0};
        // A syscall program's context is copied back into ctx_in (it takes no ctx_out).
        LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args, .ctx_size_in = sizeof(args));
        int err = bpf_prog_test_run_opts(prog_fd, &run);
        state.ResumeTiming();
        if (err || args.submitted != args.count) {
            state.SkipWithError(("ring_fill: " + errno_text(err ? errno : ENOSPC)).c_str());
            return;
        }
        auto events = ring->drain();
        drained += events.size();
        benchmark::DoNotOptimize(events.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(drained));
}

void BM_MapRead(benchmark::State& state) {
    const auto entries = static_cast<uint32_t>(state.range(0));
    int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_tasks", sizeof(uint32_t),
                            sizeof(sched_task_stats), entries, nullptr);
    if (fd < 0) {
        state.SkipWithError(("create a BPF hash (root needed): " + errno_text(errno)).c_str());
        return;
    }
    UniqueFd map(fd);
    Workload w(entries);
    for (const auto& s : w.threads) bpf_map_update_elem(map.get(), &s.pid, &s, BPF_ANY);
    uint64_t read = 0;
    for (auto _ : state) {
        for_each_entry<uint32_t, sched_task_stats>(map.get(),
                                                   [&](const uint32_t&, const sched_task_stats& s) {
                                                       benchmark::DoNotOptimize(s.oncpu_ns);
                                                       ++read;
                                                   });
    }
    state.SetItemsProcessed(static_cast<int64_t>(read));
}

BENCHMARK_CAPTURE(BM_Deltas, sched, &Pipeline::add_sched,
                  [](const Workload& w) { return w.threads.size() + kCpus; })
    ->Arg(1000)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_Deltas, block, &Pipeline::add_block, [](const Workload& w) {
    return w.block.size();
})->Arg(10000);
BENCHMARK_CAPTURE(BM_Deltas, net, &Pipeline::add_net, [](const Workload& w) {
    return w.net.size();
})->Arg(10000);
BENCHMARK_CAPTURE(BM_Deltas, mem, &Pipeline::add_mem, [](const Workload& w) {
    return w.mem.size();
})->Arg(10000);
BENCHMARK(BM_Interval)->Arg(1000)->Arg(10000);
BENCHMARK(BM_RingDrain)->Arg(10000);
BENCHMARK(BM_MapRead)->Arg(10000);

}  // namespace
}  // namespace perfbpf

BENCHMARK_MAIN();

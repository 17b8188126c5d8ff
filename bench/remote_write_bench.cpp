// Remote write's CPU per interval, with Google Benchmark, on an exposition shaped like a
// host's: every catalogue series of the host, 2 CPUs, 4 devices, 20 cgroups and 150
// processes (about 7,000 samples, what the daemon sent per interval on this 2-CPU host).
//   BM_Push   RemoteWriter::push: the interval's samples encoded (prompb, one serialized
//             WriteRequest each) and queued; the daemon pays this on its collection thread
//   BM_Body   one batch of 2000 encoded samples into a POST body (concatenation + snappy),
//             on the sender's thread; reports compressed bytes per sample
//
//   build/bench/remote_write_bench [--benchmark_filter=Push]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "model/series_extract.h"
#include "sinks/remote_write.h"

namespace perfbpf {
namespace {

Labels labels_for(ObjectKind o, int i) {
    const std::string n = std::to_string(i);
    switch (o) {
        case ObjectKind::system:
            return {};
        case ObjectKind::cpu:
            return {{"cpu", n}};
        case ObjectKind::device:
            return {{"device", "sd" + std::string(1, static_cast<char>('a' + i))}};
        case ObjectKind::netns:
            return {{"netns", "ns" + n}};
        case ObjectKind::filesystem:
            return {{"device", "/dev/vd" + std::string(1, static_cast<char>('a' + i))},
                    {"mountpoint", "/srv/" + n}};
        case ObjectKind::cgroup:
            return {{"cgroup", "/system.slice/service-" + n + ".service"}};
        case ObjectKind::process:
            return {{"cgroup", "/user.slice/session-" + std::to_string(i % 7) + ".scope"},
                    {"comm", "worker-" + n},
                    {"pid", std::to_string(1000 + i)},
                    {"start", std::to_string(123456 + i)}};
    }
    return {};
}

int objects_of(ObjectKind o) {
    switch (o) {
        case ObjectKind::system:
            return 1;
        case ObjectKind::cpu:
            return 2;
        case ObjectKind::device:
            return 4;
        case ObjectKind::netns:
            return 1;
        case ObjectKind::filesystem:
            return 3;
        case ObjectKind::cgroup:
            return 20;
        case ObjectKind::process:
            return 150;
    }
    return 0;
}

Exposition host_exposition() {
    std::vector<SeriesSample> series;
    for (const auto& f : metric_catalogue()) {
        if (!f.key_label.empty()) continue;  // maps: keys vary by host
        for (int i = 0; i < objects_of(f.object); ++i) {
            SeriesSample s;
            s.key = {f.name, labels_for(f.object, i)};
            s.kind = f.kind;
            s.value = 1000.0 * i + 0.37;
            if (f.kind == MetricKind::histogram)
                for (uint64_t us : {3, 40, 700, 9000}) s.hist.add_us(us + i, 5);
            series.push_back(std::move(s));
        }
    }
    Exposition x;
    x.update(series);
    return x;
}

struct Count final : PromWriter {
    size_t n = 0;
    void family(std::string_view, PromType, std::string_view) override {}
    void sample(std::string_view, const Labels&, double, Extra) override { ++n; }
};

void BM_Push(benchmark::State& state) {
    const Exposition x = host_exposition();
    Count c;
    x.write_current(c, {});
    RemoteWriteOptions o;
    o.url = "http://127.0.0.1:1/api/v1/write";
    o.flush_ms = 3'600'000;  // nothing is sent while it runs: the queue drops the oldest
    o.batch_samples = 1'000'000;
    o.queue_samples = 20'000;
    RemoteWriter w(o, [](const std::string&) { return PostOutcome{204, {}}; });
    int64_t ts = 1'796'428'800'000;
    for (auto _ : state) w.push(x, {}, ts += 1000);
    state.counters["samples"] = static_cast<double>(c.n);
    state.counters["ns/sample"] =
        benchmark::Counter(static_cast<double>(c.n) * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Push)->Unit(benchmark::kMillisecond);

void BM_Body(benchmark::State& state) {
    std::vector<std::string> batch;
    struct Encode final : PromWriter {
        std::vector<std::string>* out;
        void family(std::string_view, PromType, std::string_view) override {}
        void sample(std::string_view name, const Labels& l, double v, Extra e) override {
            if (out->size() < 2000) out->push_back(encode_sample(name, l, e, v, 1'796'428'800'000));
        }
    } enc;
    enc.out = &batch;
    host_exposition().write_current(enc, {});
    size_t raw = 0, body = 0;
    for (const auto& s : batch) raw += s.size();
    for (auto _ : state) {
        const std::string b = write_request_body(batch);
        body = b.size();
        benchmark::DoNotOptimize(b.data());
    }
    state.counters["raw_bytes/sample"] =
        static_cast<double>(raw) / static_cast<double>(batch.size());
    state.counters["body_bytes/sample"] =
        static_cast<double>(body) / static_cast<double>(batch.size());
}
BENCHMARK(BM_Body)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace perfbpf

BENCHMARK_MAIN();

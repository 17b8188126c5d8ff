// The block family against real I/O: O_DIRECT writes and reads of a known size on an ext4
// filesystem on a loop device the test creates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "collect/collector.h"
#include "support.h"

namespace perfbpf {
namespace {

using test::Child;
using test::fixture;
using test::LoopDevice;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kFileMiB = 32;

// What a workload did over several intervals, summed.
struct Totals {
    uint64_t proc_read_bytes = 0, proc_write_bytes = 0, proc_ios = 0;
    Log2Histogram proc_lat, dev_lat;  // merged over the intervals
    bool proc_seen = false, proc_exited = false;
    uint64_t dev_read_bytes = 0, dev_write_bytes = 0, dev_read_ios = 0, dev_write_ios = 0;
    uint64_t dev_lat_samples = 0, dev_inflight_max = 0;
    double dev_lat_p99_us = 0;
    std::string lat_source;
};

void add(Totals& t, const Snapshot& s, int pid, const std::string& device) {
    for (const auto& p : s.processes) {
        if (p.pid != pid) continue;
        t.proc_seen = true;
        t.proc_exited |= p.exited;
        t.proc_read_bytes += p.read_bytes;
        t.proc_write_bytes += p.write_bytes;
        t.proc_ios += p.read_ios + p.write_ios;
        t.proc_lat.merge(p.io_lat_hist);
    }
    for (const auto& d : s.devices) {
        if (d.name != device) continue;
        t.dev_read_bytes += d.read_bytes;
        t.dev_write_bytes += d.write_bytes;
        t.dev_read_ios += d.read_ios;
        t.dev_write_ios += d.write_ios;
        t.dev_lat_samples += d.lat_hist.count();
        t.dev_lat.merge(d.lat_hist);
        t.dev_lat_p99_us = std::max(t.dev_lat_p99_us, d.lat_p99_us);
        t.dev_inflight_max = std::max(t.dev_inflight_max, d.inflight_max);
        if (!d.lat_source.empty()) t.lat_source = d.lat_source;
    }
}

std::optional<LoopDevice> make_loop(std::string* why) {
    return LoopDevice::create(256, /*with_filesystem=*/true, why);
}

std::unique_ptr<Collector> block_collector() {
    CollectorOptions o;
    o.interval_ns = 500'000'000;
    o.families = {"sched", "block"};  // sched reports the exit, so the entry is cleaned up
    auto c = Collector::create(o);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
}

// Runs `argv` and collects intervals until it has exited and one more interval has passed.
Totals run_and_collect(Collector& collector, const std::vector<std::string>& argv,
                       const std::string& device, int* exit_status) {
    Totals t;
    Child c = Child::spawn(argv);
    bool done = false;
    for (int i = 0; i < 60; ++i) {  // 30 s at most
        Snapshot s = collector.next();
        add(t, s, c.pid(), device);
        if (done) break;
        done = c.exited();
    }
    *exit_status = c.wait();
    std::printf(
        "process read %.2f MiB write %.2f MiB; %s read %.2f MiB (%lu ios) write %.2f MiB "
        "(%lu ios), %lu latency samples (%s), p99 %.0f us, in flight max %lu\n",
        t.proc_read_bytes / double(kMiB), t.proc_write_bytes / double(kMiB), device.c_str(),
        t.dev_read_bytes / double(kMiB), (unsigned long)t.dev_read_ios,
        t.dev_write_bytes / double(kMiB), (unsigned long)t.dev_write_ios,
        (unsigned long)t.dev_lat_samples, t.lat_source.c_str(), t.dev_lat_p99_us,
        (unsigned long)t.dev_inflight_max);
    std::printf(
        "process: %lu requests, %lu latency samples, p50 %.0f us, p99 %.0f us; device over "
        "the run p50 %.0f us, p99 %.0f us\n",
        (unsigned long)t.proc_ios, (unsigned long)t.proc_lat.count(), t.proc_lat.percentile_us(0.5),
        t.proc_lat.percentile_us(0.99), t.dev_lat.percentile_us(0.5),
        t.dev_lat.percentile_us(0.99));
    return t;
}

TEST(BlockProbe, DirectWritesAttributedToTheWriter) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device with ext4: " + why);
    auto collector = block_collector();
    ASSERT_TRUE(collector);
    const std::string file = loop->mount_point() + "/data";
    int status = -1;
    Totals t = run_and_collect(*collector,
                               {fixture("dio_writer"), "write", file, std::to_string(kFileMiB)},
                               loop->name(), &status);
    ASSERT_EQ(status, 0);
    const double n = kFileMiB * kMiB;
    ASSERT_TRUE(t.proc_seen) << "the writer is missing from every snapshot";
    EXPECT_TRUE(t.proc_exited);
    // O_DIRECT: every byte goes to the block layer from the writer's own context.
    EXPECT_GE(t.proc_write_bytes, 0.95 * n);
    EXPECT_LE(t.proc_write_bytes, 1.05 * n);
    EXPECT_LT(t.proc_read_bytes, 0.05 * n);
    // The loop device saw the data and the filesystem's own writes (journal, extent
    // conversion), each request with a latency sample.
    EXPECT_GE(t.dev_write_bytes, 0.95 * n);
    EXPECT_LE(t.dev_write_bytes, 1.5 * n);
    EXPECT_GE(t.dev_write_ios, kFileMiB / 4);  // 1 MiB writes, split at most into 4 pieces
    EXPECT_GE(t.dev_lat_samples, t.dev_write_ios);
    // Each of the writer's requests completes with one latency sample in its own histogram:
    // the completion finds the submitter by the request's first bio.
    EXPECT_GE(t.proc_lat.count(), t.proc_ios * 9 / 10);
    EXPECT_LE(t.proc_lat.count(), t.proc_ios);
    EXPECT_GT(t.dev_lat_p99_us, 0.0);
    EXPECT_GE(t.dev_inflight_max, 1u);
    EXPECT_NE(t.lat_source, "");
}

TEST(BlockProbe, DirectReadsAttributedToTheReader) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device with ext4: " + why);
    const std::string file = loop->mount_point() + "/data";
    {
        Child w = Child::spawn({fixture("dio_writer"), "write", file, std::to_string(kFileMiB)});
        ASSERT_EQ(w.wait(), 0);
    }
    auto collector = block_collector();
    ASSERT_TRUE(collector);
    int status = -1;
    Totals t =
        run_and_collect(*collector, {fixture("dio_writer"), "read", file, std::to_string(kFileMiB)},
                        loop->name(), &status);
    ASSERT_EQ(status, 0);
    const double n = kFileMiB * kMiB;
    ASSERT_TRUE(t.proc_seen) << "the reader is missing from every snapshot";
    EXPECT_GE(t.proc_read_bytes, 0.95 * n);
    EXPECT_LE(t.proc_read_bytes, 1.05 * n);
    EXPECT_LT(t.proc_write_bytes, 0.05 * n);
    EXPECT_GE(t.dev_read_bytes, 0.95 * n);
    EXPECT_LE(t.dev_read_bytes, 1.2 * n);
    EXPECT_GE(t.dev_read_ios, kFileMiB / 4);
    EXPECT_GE(t.dev_lat_samples, t.dev_read_ios);
    EXPECT_GT(t.dev_lat_p99_us, 0.0);
    // Nearly all of the device's requests are the reader's: each completion's latency is
    // attributed to it, and its typical latency is the device's (medians within 4x). The
    // p99s are compared from above only: with ~70 requests the device's p99 is its slowest
    // one, which may be the filesystem's own (a metadata read, a journal write): 28.7 ms
    // against the reader's 1.0 ms once in a fresh root (2026-12-06).
    EXPECT_GE(t.proc_lat.count(), t.proc_ios * 9 / 10);
    const double proc_p50 = t.proc_lat.percentile_us(0.5), dev_p50 = t.dev_lat.percentile_us(0.5);
    const double proc_p99 = t.proc_lat.percentile_us(0.99);
    const double dev_p99 = t.dev_lat.percentile_us(0.99);
    EXPECT_GT(proc_p99, 0.0);
    EXPECT_GE(proc_p50, dev_p50 / 4);
    EXPECT_LE(proc_p50, dev_p50 * 4);
    EXPECT_LE(proc_p99, dev_p99 * 4);
}

TEST(BlockProbe, TopJsonShowsTheWriterAndItsDevice) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = make_loop(&why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device with ext4: " + why);
    // 15 MiB/s for 10 s, so it is writing during the whole interval `top --once` measures
    // even when loading the probes takes seconds on a busy machine.
    Child w =
        Child::spawn({fixture("dio_writer"), "write", loop->mount_point() + "/data", "150", "10"});
    int status = -1;
    std::string out = test::run_perfbpf("top --once --json", &status);
    ASSERT_EQ(status, 0) << out;
    auto doc = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << out;

    const nlohmann::json* writer = nullptr;
    for (const auto& p : doc["processes"])
        if (p["pid"] == w.pid()) writer = &p;
    ASSERT_TRUE(writer) << "writer pid " << w.pid() << " not in top's processes";
    EXPECT_GT((*writer)["write_bytes"].get<uint64_t>(), 4 * kMiB);  // ~15 MiB in 1 s
    EXPECT_EQ((*writer)["comm"], "dio_writer");

    const nlohmann::json* dev = nullptr;
    for (const auto& d : doc["devices"])
        if (d["name"] == loop->name()) dev = &d;
    ASSERT_TRUE(dev) << loop->name() << " not in top's devices";
    for (const char* field :
         {"read_bytes", "write_bytes", "read_ios", "write_ios", "lat_p50_us", "lat_p99_us"})
        EXPECT_TRUE((*dev)[field].is_number()) << field;
    EXPECT_GT((*dev)["write_bytes"].get<uint64_t>(), 4 * kMiB);
    EXPECT_GT((*dev)["write_ios"].get<uint64_t>(), 0u);
    EXPECT_GT((*dev)["lat_p99_us"].get<double>(), 0.0);
    w.kill();
}

// What one read pattern looks like at the device: requests that continue a stream, and
// their size (read_ahead_kb shapes both for buffered and mapped reads).
struct Pattern {
    uint64_t read_ios = 0, read_seq_ios = 0, read_bytes = 0, read_lat_samples = 0;
    double seq_share() const { return read_ios ? double(read_seq_ios) / double(read_ios) : 0; }
    double avg_read_kib() const { return read_ios ? double(read_bytes) / read_ios / 1024 : 0; }
};

Pattern read_pattern(const std::string& mode, const LoopDevice& loop) {
    auto collector = test::family_collector({"block"}, 500'000'000);
    if (!collector) return {};
    Child r = Child::spawn({fixture("blk_reader"), mode, loop.device(), "2"});
    Pattern p;
    for (int i = 0; i < 12; ++i) {
        Snapshot s = collector->next();
        for (const auto& d : s.devices) {
            if (d.name != loop.name()) continue;
            p.read_ios += d.read_ios;
            p.read_seq_ios += d.read_seq_ios;
            p.read_bytes += d.read_bytes;
            p.read_lat_samples += d.read_lat_hist.count();
        }
        if (r.exited()) break;
    }
    EXPECT_EQ(r.wait(), 0) << mode;
    std::printf("%s: %lu read requests, %.0f %% sequential, %.0f KiB each\n", mode.c_str(),
                (unsigned long)p.read_ios, 100 * p.seq_share(), p.avg_read_kib());
    return p;
}

TEST(BlockProbe, SequentialAndRandomReadsTellApart) {
    PERFBPF_REQUIRE_ROOT();
    std::string why;
    auto loop = LoopDevice::create(256, /*with_filesystem=*/false, &why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device: " + why);
    // Our own device: a known readahead window.
    std::string ra = "/sys/block/" + loop->name() + "/queue/read_ahead_kb";
    ASSERT_EQ(test::run_command("echo 128 > " + ra + " && cat " + ra), "128\n");

    Pattern seq = read_pattern("seq", *loop);
    ASSERT_GT(seq.read_ios, 100u);
    EXPECT_GE(seq.seq_share(), 0.9);
    EXPECT_GE(seq.avg_read_kib(), 100);  // readahead-sized requests
    EXPECT_GE(seq.read_lat_samples, seq.read_ios);

    Pattern mapped = read_pattern("mmap-rand", *loop);
    ASSERT_GT(mapped.read_ios, 100u);
    EXPECT_LE(mapped.seq_share(), 0.2);
    EXPECT_GE(mapped.avg_read_kib(), 64);  // read-around inflates each 1-byte touch

    Pattern direct = read_pattern("dio-rand", *loop);
    ASSERT_GT(direct.read_ios, 100u);
    EXPECT_LE(direct.seq_share(), 0.1);
    EXPECT_NEAR(direct.avg_read_kib(), 4, 0.5);
}

}  // namespace
}  // namespace perfbpf

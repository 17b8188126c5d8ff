// The block-io tuner's decisions over synthetic windows.
#include <gtest/gtest.h>

#include "tune/registry.h"
#include "tune/tuners/block_io.h"
#include "tuner_test_support.h"

namespace perfbpf::tune {
namespace {

// `n` one-second intervals in which `dev` did `reads` reads of `kib` KiB each, `seq_pct` of
// them continuing a stream, and `writes` writes.
std::vector<Snapshot> window(const std::string& dev, uint64_t reads, double kib, double seq_pct,
                             uint64_t writes = 0, uint64_t read_lat_us = 200, int n = 5) {
    std::vector<Snapshot> w(n);
    for (auto& s : w) {
        s.interval_ns = 1'000'000'000;
        DeviceSample d;
        d.name = dev;
        d.read_ios = reads;
        d.read_bytes = static_cast<uint64_t>(reads * kib * 1024);
        d.read_seq_ios = static_cast<uint64_t>(reads * seq_pct / 100);
        d.write_ios = writes;
        d.write_bytes = writes * 65536;
        d.read_lat_hist.add_us(read_lat_us, reads);
        s.devices.push_back(d);
    }
    return w;
}

KnobValues queue(const std::string& dev, const std::string& ra, const std::string& sched = "none",
                 const std::string& rotational = "0", const std::string& max_sectors = "1280") {
    auto id = [&](const char* key) {
        return KnobId{KnobKind::block_queue, key, Scope::device(dev)};
    };
    KnobValues v;
    v[id("read_ahead_kb")] = {ra, {}};
    v[id("max_sectors_kb")] = {max_sectors, {}};
    v[id("scheduler")] = {sched, {"none", "mq-deadline", "kyber", "bfq"}};
    v[id("rotational")] = {rotational, {}};
    return v;
}

std::vector<Recommendation> decide(const std::vector<Snapshot>& w, const KnobValues& k,
                                   const ScopeFilter& f = {}) {
    auto t = make_block_io_tuner();
    TunerInput in{w, &k, &f};
    return t->decide(in);
}

// A copy: the callers pass temporaries.
std::optional<Recommendation> find(const std::vector<Recommendation>& rs, const std::string& key) {
    for (const auto& r : rs)
        if (r.knob.key == key) return r;
    return std::nullopt;
}

TEST(BlockIoTuner, SequentialReadsAtTheWindowRaiseReadahead) {
    auto rs = decide(window("loop3", 800, 128, 98), queue("loop3", "128"));
    auto r = find(rs, "read_ahead_kb");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->current, "128");
    EXPECT_EQ(r->proposed, "512");
    EXPECT_EQ(r->direction, +1);
    EXPECT_EQ(r->knob.scope, Scope::device("loop3"));
    EXPECT_NE(test::reason_text(*r).find("98 %"), std::string::npos) << test::reason_text(*r);
    EXPECT_EQ(r->target.spec.better, Better::higher);
    EXPECT_EQ(r->target.spec.name, "read_bytes_per_s @ device:loop3");
    // The proposal is one allowed step.
    const KnobSpec& spec = *find_knob_spec(KnobKind::block_queue, "read_ahead_kb");
    EXPECT_TRUE(check_change(spec, {"128", {}}, r->proposed));
    // Near the ceiling it stops there, and at it nothing is proposed (a device that takes
    // 8 MiB requests).
    EXPECT_EQ(
        find(decide(window("loop3", 800, 2048, 98), queue("loop3", "2048", "none", "0", "8192")),
             "read_ahead_kb")
            ->proposed,
        "4096");
    EXPECT_FALSE(
        find(decide(window("loop3", 800, 4096, 98), queue("loop3", "4096", "none", "0", "8192")),
             "read_ahead_kb"));
}

TEST(BlockIoTuner, MaxSectorsCapsTheReadaheadWindow) {
    // 512 KiB window, a device that takes 1280 KiB requests: raised to 1280, not 2048, and
    // the reason says why.
    auto r = find(decide(window("sdb", 800, 512, 98), queue("sdb", "512")), "read_ahead_kb");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "1280");
    EXPECT_NE(test::reason_text(*r).find("against a 512 KiB window (read_ahead_kb); raised no "
                                         "further than the largest request the device takes "
                                         "(1.25 MiB, max_sectors_kb)"),
              std::string::npos)
        << test::reason_text(*r);
    // read_ahead_kb 2560 over a 1280 KiB device: the window is 1280 KiB whatever
    // read_ahead_kb says, so sequential reads of that size propose nothing.
    EXPECT_FALSE(find(decide(window("sdb", 800, 1280, 98), queue("sdb", "2560")), "read_ahead_kb"));
    // At max_sectors_kb exactly: nothing either.
    EXPECT_FALSE(find(decide(window("sdb", 800, 1280, 98), queue("sdb", "1280")), "read_ahead_kb"));
    // Random reads of the capped window's size: lowered, and the evidence names the cap.
    auto low = find(decide(window("sdb", 800, 1280, 5), queue("sdb", "2560")), "read_ahead_kb");
    ASSERT_TRUE(low);
    EXPECT_EQ(low->proposed, "640");
    EXPECT_NE(test::reason_text(*low).find("1.25 MiB each against a 1.25 MiB window "
                                           "(max_sectors_kb)"),
              std::string::npos)
        << test::reason_text(*low);
    EXPECT_NE(test::plan_text("block-io", *low)
                  .find("window 1.25 MiB, read_ahead_kb 2.5 MiB, "
                        "max_sectors_kb 1.25 MiB"),
              std::string::npos);
}

TEST(BlockIoTuner, RandomReadsInflatedByReadaroundLowerIt) {
    auto rs = decide(window("loop3", 2000, 118, 1), queue("loop3", "128"));
    auto r = find(rs, "read_ahead_kb");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "32");
    EXPECT_EQ(r->direction, -1);
    EXPECT_EQ(r->target.spec.name, "read_ios_per_s @ device:loop3");
    // At the floor: nothing.
    EXPECT_FALSE(find(decide(window("loop3", 2000, 16, 1), queue("loop3", "16")), "read_ahead_kb"));
    // Large readahead windows are capped by max_sectors_kb for the size test.
    auto big = find(decide(window("loop3", 500, 1200, 2), queue("loop3", "2560")), "read_ahead_kb");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->proposed, "640");
}

TEST(BlockIoTuner, RequestsReadaheadDidNotShapeSayNothing) {
    // 4 KiB random reads (O_DIRECT, or reads the kernel does not read ahead for).
    EXPECT_FALSE(find(decide(window("loop3", 5000, 4, 0), queue("loop3", "128")), "read_ahead_kb"));
    // 1 MiB direct reads, sequential or not, are larger than the window.
    EXPECT_FALSE(
        find(decide(window("loop3", 500, 1024, 99), queue("loop3", "128")), "read_ahead_kb"));
    // Half sequential: the dead band.
    EXPECT_FALSE(
        find(decide(window("loop3", 800, 128, 50), queue("loop3", "128")), "read_ahead_kb"));
    // Too few reads to judge.
    EXPECT_FALSE(
        find(decide(window("loop3", 10, 128, 99), queue("loop3", "128")), "read_ahead_kb"));
}

TEST(BlockIoTuner, OnlyDevicesTheFilterAllows) {
    auto w = window("loop3", 800, 128, 98);
    auto other = window("sda", 800, 128, 98);
    for (size_t i = 0; i < w.size(); ++i) w[i].devices.push_back(other[i].devices[0]);
    KnobValues k = queue("loop3", "128");
    k.merge(queue("sda", "128"));
    ScopeFilter f;
    f.devices = {"loop3"};
    auto rs = decide(w, k, f);
    ASSERT_FALSE(rs.empty());
    for (const auto& r : rs) EXPECT_EQ(r.knob.scope.name, "loop3");
    auto t = make_block_io_tuner();
    TunerInput in{w, &k, &f};
    for (const auto& id : t->wants(in)) EXPECT_EQ(id.scope.name, "loop3");
}

TEST(BlockIoTuner, DeviceKinds) {
    EXPECT_EQ(device_kind("nvme0n1", false), DeviceKind::nvme);
    EXPECT_EQ(device_kind("loop3", false), DeviceKind::virtual_disk);
    EXPECT_EQ(device_kind("nullb0", false), DeviceKind::virtual_disk);
    EXPECT_EQ(device_kind("vda", false), DeviceKind::paravirtual);
    EXPECT_EQ(device_kind("sda", true), DeviceKind::hdd);
    EXPECT_EQ(device_kind("sda", false), DeviceKind::ssd);
}

TEST(BlockIoTuner, SchedulerByDeviceKind) {
    // A virtual device under load runs a scheduler it does not need.
    auto r = find(decide(window("nullb0", 5000, 4, 0), queue("nullb0", "128", "bfq")), "scheduler");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "none");
    EXPECT_EQ(r->direction, 0);
    EXPECT_EQ(r->target.spec.name, "ios_per_s @ device:nullb0");
    // Already on its choice, or too little I/O to judge: nothing.
    EXPECT_FALSE(
        find(decide(window("nullb0", 5000, 4, 0), queue("nullb0", "128", "none")), "scheduler"));
    EXPECT_FALSE(
        find(decide(window("nullb0", 10, 4, 0), queue("nullb0", "128", "bfq")), "scheduler"));
    // A rotational disk without a scheduler gets mq-deadline.
    auto hdd =
        find(decide(window("sdb", 300, 4, 0), queue("sdb", "128", "none", "1")), "scheduler");
    ASSERT_TRUE(hdd);
    EXPECT_EQ(hdd->proposed, "mq-deadline");
}

TEST(BlockIoTuner, SchedulerForReadsStarvedByWrites) {
    // nvme, 30 % reads waiting 20 ms at p99 behind writes.
    auto w = window("nvme0n1", 300, 4, 0, 700, 20'000);
    auto r = find(decide(w, queue("nvme0n1", "128", "none")), "scheduler");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->proposed, "kyber");
    EXPECT_EQ(r->target.spec.name, "read_lat_p99_us @ device:nvme0n1");
    EXPECT_NE(r->reason.find("mixed load"), std::string::npos);
    // A rotational disk: bfq; when bfq is not available, mq-deadline.
    auto hdd = window("sdb", 300, 4, 0, 700, 500'000);
    EXPECT_EQ(find(decide(hdd, queue("sdb", "128", "none", "1")), "scheduler")->proposed, "bfq");
    KnobValues no_bfq = queue("sdb", "128", "none", "1");
    no_bfq[KnobId{KnobKind::block_queue, "scheduler", Scope::device("sdb")}].choices = {
        "none", "mq-deadline"};
    EXPECT_EQ(find(decide(hdd, no_bfq), "scheduler")->proposed, "mq-deadline");
    // Fast reads under the same mix: nvme stays on none.
    EXPECT_FALSE(
        find(decide(window("nvme0n1", 300, 4, 0, 700, 100), queue("nvme0n1", "128", "none")),
             "scheduler"));
}

TEST(BlockIoTuner, PlanLinesInHumanUnits) {
    auto ra = find(decide(window("loop3", 800, 128, 98), queue("loop3", "128")), "read_ahead_kb");
    ASSERT_TRUE(ra);
    const std::string text = test::plan_text("block-io", *ra);
    test::expect_human_units(text);
    EXPECT_NE(text.find("  128 KiB -> 512 KiB\n"), std::string::npos) << text;
    EXPECT_NE(
        text.find(
            "why: sequential reads limited by the readahead window: 98 % of 4000 "
            "reads continue a stream, 128 KiB each against a 128 KiB window (read_ahead_kb)\n"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("evidence: read_ios 4000, read_seq 98 %, avg_read 128 KiB, window 128 "
                        "KiB, read_ahead_kb 128 KiB, max_sectors_kb 1.25 MiB\n"),
              std::string::npos)
        << text;

    auto sched =
        find(decide(window("nvme0n1", 300, 4, 0, 700, 20'000), queue("nvme0n1", "128", "none")),
             "scheduler");
    ASSERT_TRUE(sched);
    const std::string s = test::plan_text("block-io", *sched);
    test::expect_human_units(s);
    EXPECT_NE(s.find("  none -> kyber\n"), std::string::npos) << s;
    // 20 ms reads land in the log2 bucket whose bound is 33 ms: words and evidence say 33 ms.
    EXPECT_NE(s.find("why: mixed load on a nvme device: reads, 30 % of requests, wait 33 ms at "
                     "p99 (limit 5.0 ms)"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("evidence: ios 5000, ios_per_interval 1000, read_share 30 %, read_lat_p99 "
                     "33 ms, read_lat_p99_limit 5.0 ms\n"),
              std::string::npos)
        << s;
}

TEST(TunerRegistry, ListsBlockIo) {
    auto names = tuner_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "block-io"), names.end());
}

}  // namespace
}  // namespace perfbpf::tune

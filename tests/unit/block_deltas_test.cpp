#include "collect/parse/block_deltas.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace perfbpf {
namespace {

block_proc_stats proc(uint64_t rb, uint64_t wb, uint64_t rios, uint64_t wios) {
    block_proc_stats s{};
    s.read_bytes = rb;
    s.write_bytes = wb;
    s.read_ios = rios;
    s.write_ios = wios;
    return s;
}

block_dev_stats dev(uint32_t major, uint32_t minor) {
    block_dev_stats s{};
    s.major = major;
    s.minor = minor;
    return s;
}

TEST(BlockProcessDeltas, GrowthSinceThePreviousRead) {
    BlockDeltas d;
    BlockProcDelta first = d.process(42, proc(4096, 0, 1, 0));
    EXPECT_EQ(first.read_bytes, 4096u);  // the first read counts everything since load
    d.end_read();
    BlockProcDelta second = d.process(42, proc(4096 + 8192, 1 << 20, 3, 1));
    EXPECT_EQ(second.read_bytes, 8192u);
    EXPECT_EQ(second.write_bytes, 1u << 20);
    EXPECT_EQ(second.read_ios, 2u);
    EXPECT_EQ(second.write_ios, 1u);
    d.end_read();
    EXPECT_FALSE(d.process(42, proc(4096 + 8192, 1 << 20, 3, 1)).any());
}

TEST(BlockProcessDeltas, LatencyHistogramGrowth) {
    BlockDeltas d;
    block_proc_stats s = proc(4096, 0, 1, 0);
    s.io_lat_hist[10] = 3;  // ~1 ms
    EXPECT_EQ(d.process(42, s).io_lat_hist.slot(10), 3u);
    d.end_read();
    s.io_lat_hist[10] = 5;
    s.io_lat_hist[11] = 1;
    BlockProcDelta grown = d.process(42, s);
    EXPECT_TRUE(grown.any());  // completions alone: its requests were created earlier
    EXPECT_EQ(grown.io_lat_hist.slot(10), 2u);
    EXPECT_EQ(grown.io_lat_hist.slot(11), 1u);
    EXPECT_EQ(grown.io_lat_hist.count(), 3u);
    d.end_read();
    // A recreated entry (tgid reused) with fewer completions counts from zero.
    block_proc_stats reused = proc(8192, 0, 2, 0);
    reused.io_lat_hist[4] = 1;
    BlockProcDelta fresh = d.process(42, reused);
    EXPECT_EQ(fresh.io_lat_hist.count(), 1u);
    EXPECT_EQ(fresh.io_lat_hist.slot(4), 1u);
}

TEST(BlockProcessDeltas, ReusedTgidCountsFromZero) {
    BlockDeltas d;
    d.process(42, proc(1 << 20, 1 << 20, 10, 10));
    d.end_read();
    // The entry was deleted at exit and recreated by a new process with the same tgid.
    BlockProcDelta reused = d.process(42, proc(4096, 0, 1, 0));
    EXPECT_EQ(reused.read_bytes, 4096u);
    EXPECT_EQ(reused.write_bytes, 0u);
    EXPECT_EQ(reused.read_ios, 1u);
}

TEST(BlockProcessDeltas, ForgottenAndVanishedEntriesStartOver) {
    BlockDeltas d;
    d.process(7, proc(100, 0, 1, 0));
    d.process(8, proc(100, 0, 1, 0));
    d.end_read();
    d.forget_process(7);
    EXPECT_EQ(d.process(7, proc(150, 0, 2, 0)).read_bytes, 150u);
    d.end_read();  // 8 was not seen in this read: its entry is gone
    EXPECT_EQ(d.process(8, proc(150, 0, 2, 0)).read_bytes, 150u);
}

TEST(BlockDeviceDeltas, CountsHistogramAndLatencySource) {
    BlockDeltas d;
    block_dev_stats s = dev(7, 3);
    s.read_ios = 10;
    s.read_bytes = 10 * 4096;
    s.lat_hist[PERFBPF_BLK_OP_READ][5] = 10;
    s.lat_src[PERFBPF_BLK_LAT_KERNEL_ISSUE] = 10;
    DeviceSample first;
    EXPECT_TRUE(d.device(0xffff1000, s, 0, first));
    d.end_read();

    s.read_ios += 4;
    s.read_bytes += 4 * 4096;
    s.write_ios += 2;
    s.write_bytes += 2 * 65536;
    s.other_ios += 1;
    s.lat_hist[PERFBPF_BLK_OP_READ][5] += 3;
    s.lat_hist[PERFBPF_BLK_OP_WRITE][9] += 3;
    s.lat_src[PERFBPF_BLK_LAT_KERNEL_ISSUE] += 5;
    s.lat_src[PERFBPF_BLK_LAT_ALLOC] += 1;
    DeviceSample out;
    ASSERT_TRUE(d.device(0xffff1000, s, 0, out));
    EXPECT_EQ(out.major, 7u);
    EXPECT_EQ(out.minor, 3u);
    EXPECT_EQ(out.read_ios, 4u);
    EXPECT_EQ(out.read_bytes, 4u * 4096);
    EXPECT_EQ(out.write_ios, 2u);
    EXPECT_EQ(out.write_bytes, 2u * 65536);
    EXPECT_EQ(out.other_ios, 1u);
    EXPECT_EQ(out.lat_hist.count(), 6u);
    EXPECT_EQ(out.lat_hist.slot(5), 3u);
    EXPECT_EQ(out.lat_hist.slot(9), 3u);
    EXPECT_EQ(out.read_lat_hist.count(), 3u);
    EXPECT_EQ(out.read_lat_hist.slot(5), 3u);
    EXPECT_EQ(out.write_lat_hist.count(), 3u);
    EXPECT_EQ(out.write_lat_hist.slot(9), 3u);
    EXPECT_EQ(out.lat_source, "issue+alloc");
}

TEST(BlockDeviceDeltas, SequentialRequestsOfTheInterval) {
    BlockDeltas d;
    block_dev_stats s = dev(7, 3);
    s.read_ios = 100;
    s.read_seq_ios = 90;
    DeviceSample first;
    d.device(1, s, 0, first);
    d.end_read();
    s.read_ios += 50;
    s.read_seq_ios += 5;
    s.write_ios += 20;
    s.write_seq_ios += 19;
    DeviceSample out;
    ASSERT_TRUE(d.device(1, s, 0, out));
    EXPECT_EQ(out.read_seq_ios, 5u);
    EXPECT_EQ(out.write_seq_ios, 19u);
    DeviceSample other;
    other.read_seq_ios = 2;
    merge_device(out, other);
    EXPECT_EQ(out.read_seq_ios, 7u);
}

TEST(BlockDeviceDeltas, IdleDeviceReportsNothing) {
    BlockDeltas d;
    block_dev_stats s = dev(8, 0);
    s.read_ios = 5;
    DeviceSample first;
    d.device(1, s, 0, first);
    d.end_read();
    DeviceSample out;
    EXPECT_FALSE(d.device(1, s, 1, out));
    EXPECT_EQ(out.read_ios, 0u);
    EXPECT_EQ(out.inflight_max, 0u);
    EXPECT_EQ(out.lat_source, "");
}

TEST(BlockDeviceDeltas, InflightMaximumOfTheInterval) {
    BlockDeltas d;
    block_dev_stats s = dev(8, 0);
    s.inflight = 3;
    s.inflight_max = 40;
    s.max_epoch = 0;
    DeviceSample first;
    d.device(1, s, 0, first);
    EXPECT_EQ(first.inflight_max, 40u);
    d.end_read();

    // Issues happened after user space moved the epoch to 1: their maximum counts.
    s.read_ios = 100;
    s.inflight = 2;
    s.inflight_max = 17;
    s.max_epoch = 1;
    DeviceSample out;
    d.device(1, s, 1, out);
    EXPECT_EQ(out.inflight_max, 17u);
    d.end_read();

    // No issue since the epoch moved to 2: the stale maximum (17) must not count; the
    // interval began with 2 in flight and ends with 1.
    s.read_ios = 101;
    s.inflight = 1;
    DeviceSample quiet;
    d.device(1, s, 2, quiet);
    EXPECT_EQ(quiet.inflight_max, 2u);
}

TEST(BlockDeviceDeltas, InflightMaximumIncludesTheStartLevel) {
    BlockDeltas d;
    block_dev_stats s = dev(8, 0);
    s.inflight = 10;
    s.inflight_max = 10;
    DeviceSample first;
    d.device(1, s, 0, first);
    d.end_read();
    // Completions took the level from 10 to 2, then one issue (after the epoch moved to 1)
    // raised it to 3: the BPF maximum restarted at 3, but the interval began at 10.
    s.read_ios = 8;
    s.inflight = 3;
    s.inflight_max = 3;
    s.max_epoch = 1;
    DeviceSample out;
    d.device(1, s, 1, out);
    EXPECT_EQ(out.inflight_max, 10u);
}

TEST(BlockDeviceDeltas, ReusedQueueAddressStartsOver) {
    BlockDeltas d;
    block_dev_stats s = dev(7, 0);
    s.write_ios = 1000;
    DeviceSample first;
    d.device(0xabc, s, 0, first);
    d.end_read();
    // The disk was removed and a new one got the same queue address; its entry was
    // resolved again to the new numbers.
    block_dev_stats t = dev(7, 5);
    t.write_ios = 1003;
    DeviceSample out;
    ASSERT_TRUE(d.device(0xabc, t, 0, out));
    EXPECT_EQ(out.minor, 5u);
    EXPECT_EQ(out.write_ios, 1003u);
}

TEST(BlockDeviceDeltas, QueuesOfOneDiskMerge) {
    DeviceSample a, b;
    a.read_ios = 3;
    a.inflight_max = 4;
    a.lat_hist.add_slot(2, 3);
    a.lat_source = "issue";
    b.read_ios = 2;
    b.write_bytes = 512;
    b.inflight_max = 1;
    b.lat_hist.add_slot(4, 2);
    b.lat_source = "alloc";
    merge_device(a, b);
    EXPECT_EQ(a.read_ios, 5u);
    EXPECT_EQ(a.write_bytes, 512u);
    EXPECT_EQ(a.inflight_max, 5u);
    EXPECT_EQ(a.lat_hist.count(), 5u);
    EXPECT_EQ(a.lat_source, "issue+alloc");
}

TEST(BlockLatencySource, NamesEverySourceSeen) {
    uint64_t none[PERFBPF_BLK_LAT_SRC_COUNT] = {0, 0, 0, 7};
    EXPECT_EQ(block_latency_source(none), "");
    uint64_t probe[PERFBPF_BLK_LAT_SRC_COUNT] = {0, 3, 0, 0};
    EXPECT_EQ(block_latency_source(probe), "issue-probe");
    uint64_t all[PERFBPF_BLK_LAT_SRC_COUNT] = {1, 1, 1, 0};
    EXPECT_EQ(block_latency_source(all), "issue+issue-probe+alloc");
}

TEST(DeviceNames, FromDiskstatsText) {
    DeviceNames names;
    names.learn_diskstats(
        parse_diskstats("   7       0 loop0 120 0 960 30 200 0 1600 80 1 90 110 0 0 0 0 0 0\n"
                        " 259       0 nvme0n1 1 2 3 4 5 6 7 8 0 10 11 0 0 0 0 0 0\n"
                        " 259       1 nvme0n1p1 1 2 3 4 5 6 7 8 0 10 11 0 0 0 0 0 0\n"));
    EXPECT_EQ(names.find(7, 0), "loop0");
    EXPECT_EQ(names.find(259, 0), "nvme0n1");
    EXPECT_EQ(names.find(259, 1), "nvme0n1p1");
    EXPECT_FALSE(names.find(8, 0));
}

TEST(DeviceNames, FromSysClassBlock) {
    DeviceNames names;
    // tests/fixtures/sys/class/block: loop0 7:0, nvme0n1 259:0, nvme0n1p1 259:1, sda 8:0 and
    // an entry whose dev file is not MAJ:MIN.
    EXPECT_EQ(names.scan_sysfs(std::string(PERFBPF_FIXTURES_DIR) + "/sys"), 4u);
    EXPECT_EQ(names.find(8, 0), "sda");
    EXPECT_EQ(names.find(259, 1), "nvme0n1p1");
    EXPECT_EQ(names.find(7, 0), "loop0");
    EXPECT_EQ(names.scan_sysfs("/nonexistent"), 0u);
}

TEST(WholeDisks, OnlyThoseWithMedia) {
    // tests/fixtures/sys/block: sda (8:0) and loop1 (7:1) have a size; loop0 is an unbound
    // loop device (size 0); nodev has no dev file.
    using Dev = std::pair<uint32_t, uint32_t>;
    auto disks = whole_disks_with_media(std::string(PERFBPF_FIXTURES_DIR) + "/sys");
    EXPECT_EQ(disks, (std::set<Dev>{{7, 1}, {8, 0}}));
    EXPECT_TRUE(whole_disks_with_media("/nonexistent").empty());
}

// sysfs is read again only when /proc/partitions changed (or, without it, when due).
TEST(DisksWithMedia, FollowsProcPartitions) {
    using Dev = std::pair<uint32_t, uint32_t>;
    test::TempDir sys;
    auto disk = [&](const std::string& name, const std::string& dev, const std::string& size) {
        std::filesystem::create_directories(sys.path() + "/block/" + name);
        std::ofstream(sys.path() + "/block/" + name + "/dev") << dev << "\n";
        std::ofstream(sys.path() + "/block/" + name + "/size") << size << "\n";
    };
    disk("sda", "8:0", "1000");
    disk("loop0", "7:0", "0");
    DisksWithMedia disks(sys.path());
    const std::string before = "major minor  #blocks  name\n\n   8        0        500 sda\n";
    EXPECT_EQ(disks.update(before, false), (std::set<Dev>{{8, 0}}));

    disk("loop0", "7:0", "2048");  // bound, but the kernel's list not yet changed
    EXPECT_EQ(disks.update(before, true), (std::set<Dev>{{8, 0}}));
    const std::string after = before + "   7        0       1024 loop0\n";
    EXPECT_EQ(disks.update(after, false), (std::set<Dev>{{7, 0}, {8, 0}}));

    // No /proc/partitions: sysfs again when due only.
    disk("loop0", "7:0", "0");
    EXPECT_EQ(disks.update(std::nullopt, false), (std::set<Dev>{{7, 0}, {8, 0}}));
    EXPECT_EQ(disks.update(std::nullopt, true), (std::set<Dev>{{8, 0}}));
}

TEST(DiskstatsDeltas, UtilisationAndQueueDepth) {
    DiskstatsDeltas deltas;
    auto first = deltas.update(
        parse_diskstats("   7       0 loop0 100 0 800 30 0 0 0 0 0 1000 5000 0 0 0 0 0 0\n"
                        "   8       0 sda 1 0 8 1 0 0 0 0 0 10 10 0 0 0 0 0 0\n"),
        1'000'000'000);
    EXPECT_TRUE(first.empty());  // nothing to compare with yet
    // One second later: loop0 busy for 250 ms with 1.5 s of summed queue time; sda idle;
    // nvme0n1 new.
    auto u = deltas.update(
        parse_diskstats("   7       0 loop0 900 0 7200 400 0 0 0 0 2 1250 6500 0 0 0 0 0 0\n"
                        "   8       0 sda 1 0 8 1 0 0 0 0 0 10 10 0 0 0 0 0 0\n"
                        " 259       0 nvme0n1 1 0 8 1 0 0 0 0 0 10 10 0 0 0 0 0 0\n"),
        1'000'000'000);
    const std::pair<uint32_t, uint32_t> loop0{7, 0}, sda{8, 0}, nvme{259, 0};
    ASSERT_TRUE(u.contains(loop0));
    EXPECT_DOUBLE_EQ(u[loop0].util_pct, 25.0);
    EXPECT_DOUBLE_EQ(u[loop0].avg_queue_depth, 1.5);
    EXPECT_EQ(u[loop0].in_flight, 2u);
    EXPECT_DOUBLE_EQ(u[sda].util_pct, 0.0);
    EXPECT_FALSE(u.contains(nvme));
    // Busier than the interval (io_ticks rounding): capped at 100 %.
    auto capped = deltas.update(
        parse_diskstats("   7       0 loop0 900 0 7200 400 0 0 0 0 2 1800 6500 0 0 0 0 0 0\n"),
        500'000'000);
    EXPECT_DOUBLE_EQ(capped[loop0].util_pct, 100.0);
}

}  // namespace
}  // namespace perfbpf

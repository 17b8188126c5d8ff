// block-io: per block device, readahead from how sequential its reads are, and the I/O
// scheduler from the kind of device and its read latency under mixed load.
//
// Readahead (read_ahead_kb). Evidence over the window: the share of read requests that
// continued a stream (adjacent sectors, block.bpf.c) and their mean size against the
// readahead window (min(read_ahead_kb, max_sectors_kb)). Only requests the size readahead
// makes (between min_window_share and max_window_share of the window) say anything about
// readahead: small random reads (O_DIRECT, or the standalone reads the kernel does not
// read ahead for) and large direct reads are not shaped by it, and get no recommendation.
//  - sequential (share >= seq_share_raise) at the window's size: the window limits the
//    stream: raise it (x step_factor, up to ceiling_kb and never past max_sectors_kb: the
//    device splits a larger readahead into requests of that size, so a read_ahead_kb above
//    it does not widen the window; the evidence names which of the two sets the window).
//    Target: read throughput (a reader that is not limited by readahead gains nothing, and
//    the change is reverted); guard: memory pressure (PSI memory some), which a larger
//    page-cache footprint could raise.
//  - random (share <= seq_share_lower) at the window's size: read-around (mapped files)
//    reads data nobody asked for: lower it (/ step_factor, down to floor_kb). Target:
//    read requests served per second; guard: read latency p99.
//  Between the two shares nothing is proposed (dead band).
//
// Scheduler. The device kind: nvme; virtual (loop, nbd, ram, zram, null_blk, dm, md: a
// lower device or nothing schedules); paravirtual (virtio, xen: the host schedules); a
// rotational disk (hdd); any other (ssd). Each kind has a default (none for nvme, virtual
// and paravirtual; mq-deadline for ssd and hdd) and a choice for mixed load whose reads
// suffer (reads and writes both at least mixed_min_share of requests and read p99 above the
// kind's limit): kyber for nvme and ssd (latency targets), mq-deadline for paravirtual
// (reads before writes), bfq for hdd; virtual devices keep none. With enough I/O in the
// window to judge (min_ios), a device not on its choice is switched. Target: read latency
// p99 when the reads suffered, else requests per second; guard: throughput.
#pragma once

#include <memory>
#include <string>

#include "tune/tuner.h"
#include "util/enum_table.h"

namespace perfbpf::tune {

enum class DeviceKind { nvme, ssd, hdd, paravirtual, virtual_disk };
inline constexpr auto kDeviceKindNames =
    enum_table<DeviceKind>("device kind", {{DeviceKind::nvme, "nvme"},
                                           {DeviceKind::ssd, "ssd"},
                                           {DeviceKind::hdd, "rotational"},
                                           {DeviceKind::paravirtual, "paravirtual"},
                                           {DeviceKind::virtual_disk, "virtual"}});
inline const char* device_kind_name(DeviceKind k) {
    return kDeviceKindNames.name(k);
}
// From the disk's name and its queue's rotational flag.
DeviceKind device_kind(const std::string& name, bool rotational);

struct BlockIoConfig {
    uint64_t min_read_ios = 100;  // in the window, to judge readahead
    uint64_t min_read_bytes = 4 << 20;
    double seq_share_raise = 0.7;
    double seq_share_lower = 0.3;
    double min_window_share = 0.5;  // mean read request / readahead window
    double max_window_share = 1.25;
    double step_factor = 4;
    int64_t floor_kb = 16;
    int64_t ceiling_kb = 4096;

    uint64_t min_ios = 200;  // in the window, to judge the scheduler
    double mixed_min_share = 0.1;
    double read_p99_limit_us_nvme = 5'000;
    double read_p99_limit_us_ssd = 10'000;
    double read_p99_limit_us_hdd = 100'000;
    double read_p99_limit_us_paravirtual = 20'000;
};

std::unique_ptr<Tuner> make_block_io_tuner(BlockIoConfig config = {});

}  // namespace perfbpf::tune

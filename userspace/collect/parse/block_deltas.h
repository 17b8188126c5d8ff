// The block family's pure logic: cumulative BPF totals -> interval amounts, disk names, and
// utilisation from /proc/diskstats. No kernel calls (sysfs scanning takes a root path), so
// unit tests feed recorded values and fixture trees.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collect/parse/procfs.h"
#include "model/snapshot.h"
#include "perfbpf/block.h"

namespace perfbpf {

struct BlockProcDelta {
    uint64_t read_bytes = 0, write_bytes = 0, read_ios = 0, write_ios = 0;
    Log2Histogram io_lat_hist;  // completions of its requests with a known submitter
    bool any() const {
        return read_bytes || write_bytes || read_ios || write_ios || !io_lat_hist.empty();
    }
};

class BlockDeltas {
  public:
    // Growth of one process's totals since the previous read. Totals lower than last time
    // mean the entry was deleted and recreated (tgid reused): counted from zero.
    BlockProcDelta process(uint32_t tgid, const block_proc_stats& now);
    void forget_process(uint32_t tgid) { prev_proc_.erase(tgid); }

    // Fills `out` (numbers, ios, bytes, latency histogram and its source, in-flight maximum)
    // with the growth of one queue's entry (`queue`: the map key) since the previous read.
    // `epoch` is the in-flight epoch user space set after the previous read. An entry that
    // now names another disk (queue address reused) starts from zero. Returns false when the
    // device did nothing in the interval.
    bool device(uint64_t queue, const block_dev_stats& now, uint64_t epoch, DeviceSample& out);
    void forget_device(uint64_t queue) { prev_dev_.erase(queue); }

    // Forgets entries not seen since the previous end_read (deleted from the map).
    void end_read();

  private:
    std::map<uint32_t, block_proc_stats> prev_proc_;
    std::map<uint64_t, block_dev_stats> prev_dev_;
    std::set<uint32_t> seen_proc_;
    std::set<uint64_t> seen_dev_;
};

// Adds `from` (another queue of the same disk) into `into`.
void merge_device(DeviceSample& into, const DeviceSample& from);

// "issue" (kernel's dispatch stamp), "issue-probe" (block_rq_issue's stamp), "alloc"
// (request allocation), joined by '+' when an interval mixed them; "" without samples.
std::string block_latency_source(const uint64_t (&lat_src_delta)[PERFBPF_BLK_LAT_SRC_COUNT]);

// Disk names by (major, minor), filled from /proc/diskstats and /sys/class/block.
class DeviceNames {
  public:
    void learn(uint32_t major, uint32_t minor, std::string name);
    void learn_diskstats(const std::vector<DiskStats>& stats);
    // Every /sys/class/block/NAME/dev under `sys_root` ("/sys"); returns how many it read.
    size_t scan_sysfs(const std::string& sys_root);
    std::optional<std::string> find(uint32_t major, uint32_t minor) const;
    size_t size() const { return names_.size(); }

  private:
    std::map<std::pair<uint32_t, uint32_t>, std::string> names_;
};

// Share of the interval a device had I/O in flight (io_ticks) and its time-weighted queue
// depth (time_in_queue), from consecutive /proc/diskstats reads.
// Whole disks under `sys_root`/block whose size is not zero (a loop device without a
// backing file, an unconfigured zram or nbd has none), by (major, minor).
std::set<std::pair<uint32_t, uint32_t>> whole_disks_with_media(const std::string& sys_root);

// whole_disks_with_media, read again only when /proc/partitions changed: it lists every
// disk and partition whose size is not zero, with that size, so a disk that appears, goes,
// or gains, loses or changes media changes it. One read an interval instead of two sysfs
// files per disk (5 % of the daemon's own CPU at 1 s on a VM with ten of them).
class DisksWithMedia {
  public:
    explicit DisksWithMedia(std::string sys_root) : sys_root_(std::move(sys_root)) {}
    // `partitions`: /proc/partitions as just read, or nullopt if it could not be; then
    // sysfs is read again when `fallback_due`.
    const std::set<std::pair<uint32_t, uint32_t>>& update(
        const std::optional<std::string>& partitions, bool fallback_due);

  private:
    std::string sys_root_;
    bool read_ = false;
    std::optional<std::string> partitions_;  // the text the last read followed
    std::set<std::pair<uint32_t, uint32_t>> disks_;
};

struct DiskUtil {
    double util_pct = 0;
    double avg_queue_depth = 0;
    uint64_t in_flight = 0;  // at the end of the interval
};
class DiskstatsDeltas {
  public:
    // Replaces the previous read with `now`; the result has the devices present in both.
    std::map<std::pair<uint32_t, uint32_t>, DiskUtil> update(const std::vector<DiskStats>& now,
                                                             uint64_t interval_ns);

  private:
    std::map<std::pair<uint32_t, uint32_t>, DiskStats> prev_;
};

}  // namespace perfbpf

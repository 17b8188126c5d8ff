// Turns the block family's cumulative per-disk and per-process totals into interval amounts,
// names the disks and adds their utilisation from /proc/diskstats.
#pragma once

#include <set>
#include <string>
#include <tuple>

#include "collect/parse/block_deltas.h"
#include "collect/source.h"
#include "util/kept_files.h"

namespace perfbpf {

class BlockProbe;

class BlockReader : public Source {
  public:
    explicit BlockReader(BlockProbe& probe, std::string proc_root = "/proc",
                         std::string sys_root = "/sys")
        : probe_(probe),
          proc_root_(std::move(proc_root)),
          sys_root_(std::move(sys_root)),
          disks_(sys_root_) {}
    std::string_view name() const override { return "block"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    static constexpr uint64_t kSweepEveryReads = 30;
    void collect_devices(SnapshotBuilder& builder);
    void collect_processes(SnapshotBuilder& builder);
    std::string device_name(uint32_t major, uint32_t minor, bool& rescanned);

    BlockProbe& probe_;
    std::string proc_root_, sys_root_;
    BlockDeltas deltas_;
    DeviceNames names_;
    DiskstatsDeltas diskstats_;
    std::set<std::tuple<uint32_t, uint32_t, std::string>> disks_seen_;
    DisksWithMedia disks_;
    KeptFiles files_{2};
    uint64_t disks_read_ns_ = 0;  // without /proc/partitions: sysfs once a second
    uint64_t epoch_ = 0;          // in-flight epoch the BPF side has used since the previous read
    uint64_t reads_ = 0;
};

}  // namespace perfbpf

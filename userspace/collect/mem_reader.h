// Turns the mem family's per-process RSS slots and exit records into interval values.
//
// When the family tracks RSS (MemProbe::active()), it is the only source of per-process
// RSS (level, growth, peak); /proc/PID/stat's rss is used only without it (see ProcSource).
// The slots are seeded from /proc/PID/stat once, right after the probes attach, so
// processes that were already running and never change their memory afterwards have a
// level too; from then on the kernel's counter changes keep them current.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collect/source.h"
#include "perfbpf/mem.h"

namespace perfbpf {

class MemProbe;

// Pure delta logic: levels in pages in, interval values out. Separate from map reading so
// unit tests can feed recorded values.
class MemDeltas {
  public:
    explicit MemDeltas(uint64_t page_bytes) : page_bytes_(page_bytes) {}

    // One read at the end of an interval: the live processes' slots and the exit records
    // of processes that exited since the previous read.
    //  - live: rss = level now, growth = level - level at the previous read (0 before: a
    //    process new in this interval gained all it has), peak = highest level since then.
    //  - exited: rss = 0, growth = -(level at the previous read), peak = the highest level
    //    it reached, fault totals handed to the builder for the procfs source.
    //  - a tgid with both (it exited and was reused by a new process within the interval):
    //    the snapshot has one row per pid, and the live process is the one /proc shows, so
    //    it is reported as new and the exit record is dropped.
    void apply(const std::vector<std::pair<uint32_t, mem_rss_slot>>& live,
               const std::vector<mem_exit>& exits, SnapshotBuilder& builder);

  private:
    // Levels of the previous reads. A process that is in neither list is kept a few reads:
    // its exit record may come one read late (it exited between reading the exit records
    // and reading the slots).
    static constexpr uint64_t kForgetAfterReads = 3;
    struct Prev {
        uint64_t pages = 0;
        uint64_t read = 0;  // the read that last saw it
    };
    uint64_t page_bytes_;
    uint64_t read_ = 0;
    std::map<uint32_t, Prev> prev_;
};

class MemReader : public Source {
  public:
    explicit MemReader(const MemProbe& probe, std::string proc_root = "/proc");
    std::string_view name() const override { return "mem"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    // Writes /proc/PID/stat's rss into the empty slot of every running process.
    void seed_from_proc();
    // Clears slots whose process is gone (a process that exited while it was being seeded).
    void sweep();

    static constexpr uint64_t kSweepEveryReads = 30;
    const MemProbe& probe_;
    std::string proc_root_;
    MemDeltas deltas_;
    uint64_t reads_ = 0;
};

}  // namespace perfbpf

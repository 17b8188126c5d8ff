// The mem family's pure delta logic: per-process RSS levels in pages in, interval values
// out. Separate from map reading (collect/mem_reader.h) so unit tests and the fuzz
// targets feed it recorded values.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "model/snapshot_builder.h"
#include "perfbpf/mem.h"

namespace perfbpf {

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

}  // namespace perfbpf

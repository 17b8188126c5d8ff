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

#include "collect/parse/mem_deltas.h"
#include "collect/source.h"

namespace perfbpf {

class MemProbe;

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

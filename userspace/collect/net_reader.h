// Reads the net family's maps every interval: per-process TCP bytes and retransmits as
// interval amounts (delta logic in collect/parse/net_deltas), system-wide TCP and drop
// counters, and per-namespace counters and drops (collect/parse/netns_deltas). Entries of
// exited processes are read one last time, then deleted; per-namespace slots and drop
// entries that stayed idle are freed.
#pragma once

#include <string>
#include <vector>

#include "collect/parse/net_deltas.h"
#include "collect/parse/netns_deltas.h"
#include "collect/source.h"

namespace perfbpf {

class NetProbe;

class NetReader : public Source {
  public:
    explicit NetReader(const NetProbe& probe);
    std::string_view name() const override { return "net"; }
    void collect(SnapshotBuilder& builder) override;

  private:
    void collect_netns(SnapshotBuilder& builder);

    // Per-namespace slots and drop entries unchanged for this many reads are freed.
    static constexpr uint64_t kNetnsIdleReads = 60;
    // Entries of processes that exited unseen (lost exit event, sched family not loaded)
    // are found by checking /proc every this many reads.
    static constexpr uint64_t kSweepEveryReads = 30;
    const NetProbe& probe_;
    NetDeltas deltas_;
    NetnsSlotDeltas netns_slots_{kNetnsIdleReads};
    NetnsDropDeltas netns_drops_{kNetnsIdleReads};
    bool rcvbuf_grow_attached_ = false;
    std::vector<std::string> drop_labels_;  // per drop-reason slot, from kernel BTF
    uint64_t reads_ = 0;
    // Kept from read to read: the per-CPU totals are ≈4 KB a CPU and the namespace slots
    // ≈25 KB a CPU, and allocating them afresh every read was 2.3 % of the daemon's own
    // CPU at 0.1 s (malloc consolidating its fast bins for each large request).
    std::vector<net_cpu_stats> cpus_;
    std::vector<std::vector<net_ns_stats>> netns_per_cpu_;
};

}  // namespace perfbpf

// Loader of bpf/block.bpf.c: per-disk requests, bytes, latency and in-flight depth; per-process
// bytes submitted.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "perfbpf/block.h"
#include "probes/bpf_object.h"
#include "probes/probe_family.h"
#include "probes/slot_table.h"

struct block_bpf;

namespace perfbpf {

class BlockProbe : public ProbeFamily {
  public:
    // Never fails as a whole: what could not load or attach is in status().
    static std::unique_ptr<BlockProbe> load(const SharedMaps& shared, const ProbeOptions& opts);
    ~BlockProbe() override;

    std::string_view name() const override { return "block"; }
    const std::vector<ProbeStatus>& status() const override { return table_.status(); }
    bool active() const override { return !links_.empty(); }
    std::map<std::string, uint64_t> run_counts() const override { return table_.run_counts(); }
    uint64_t run_time_ns() const override { return table_.run_time_ns(); }

    int dev_stats_fd() const;     // array: device slot -> block_dev_state
    int dev_counters_fd() const;  // per-CPU array: device slot -> block_dev_counters
    int dev_claims_fd() const;    // hash: device slot -> the queue that claimed it
    // Per-process slots of block_proc_slot (a slot's tgid 0: free).
    const SlotTable& procs() const { return procs_; }
    // Starts a new in-flight maximum: the next issue on each device restarts it.
    void set_inflight_epoch(uint64_t epoch);
    uint64_t inflight_epoch() const;
    // A disk appeared: a queue address may have been reused, so every entry resolves its
    // disk's numbers again at its next event.
    void bump_dev_generation();
    std::string load_error() const { return load_error_; }

  private:
    BlockProbe() : table_("block") {}
    // Opens, loads, maps and attaches the object; failures go to table_ and load_error_.
    void load_and_attach(const SharedMaps& shared);
    ProgramTable table_;
    Skeleton<block_bpf> skel_;
    SlotTable procs_;
    std::vector<LinkPtr> links_;
    std::string load_error_;
};

}  // namespace perfbpf

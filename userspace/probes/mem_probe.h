// Loader of bpf/mem.bpf.c: per-process RSS levels, exit records and OOM kill events.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "perfbpf/mem.h"
#include "probes/bpf_object.h"
#include "probes/mapped_map.h"
#include "probes/probe_family.h"

struct mem_bpf;

namespace perfbpf {

class MemProbe : public ProbeFamily {
  public:
    // Never fails as a whole: what could not load or attach is in status().
    static std::unique_ptr<MemProbe> load(const SharedMaps& shared, const ProbeOptions& opts);
    ~MemProbe() override;

    std::string_view name() const override { return "mem"; }
    const std::vector<ProbeStatus>& status() const override { return table_.status(); }
    // True when RSS is tracked: rss_stat, fork and exit attached and the slots mapped. The
    // OOM program alone needs no reader (its events go through the shared ring).
    bool active() const override { return rss_tracked_; }
    std::map<std::string, uint64_t> run_counts() const override { return table_.run_counts(); }
    uint64_t run_time_ns() const override { return table_.run_time_ns(); }

    // The "rss" array as 64-bit words, one per tgid (a mem_rss_slot each), shared with the
    // BPF side: read and update them with std::atomic_ref.
    std::span<uint64_t> rss_words() const;
    int exits_fd() const;  // hash: tgid -> mem_exit

  private:
    MemProbe() : table_("mem") {}
    ProgramTable table_;
    Skeleton<mem_bpf> skel_;
    std::vector<LinkPtr> links_;
    MappedMap rss_map_;
    uint32_t slots_ = 0;
    bool rss_tracked_ = false;
};

}  // namespace perfbpf

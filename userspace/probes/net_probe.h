// Loader of bpf/net.bpf.c: per-process TCP bytes and retransmits, TCP state changes,
// smoothed RTT and cwnd, packet drops by reason; per network namespace bytes,
// retransmits, drops, socket buffer limits and sampled TCP windows.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "perfbpf/net.h"
#include "probes/bpf_object.h"
#include "probes/probe_family.h"
#include "probes/slot_table.h"

struct net_bpf;

namespace perfbpf {

class NetProbe : public ProbeFamily {
  public:
    // Never fails as a whole: what could not load or attach is in status().
    static std::unique_ptr<NetProbe> load(const SharedMaps& shared, const ProbeOptions& opts);
    ~NetProbe() override;

    std::string_view name() const override { return "net"; }
    const std::vector<ProbeStatus>& status() const override { return table_.status(); }
    bool active() const override { return !links_.empty(); }
    std::map<std::string, uint64_t> run_counts() const override { return table_.run_counts(); }
    uint64_t run_time_ns() const override { return table_.run_time_ns(); }
    // Thins tcp:tcp_probe: RTT, cwnd and window samples from 1 in n segments.
    void keep_one_in(uint32_t n) override;

    // The per-process slots of net_proc_slot (net.h): read in place, freed by the reader.
    const SlotTable& procs() const { return procs_; }
    int cpu_stats_fd() const;    // per-CPU array[1] of net_cpu_stats
    int netns_stats_fd() const;  // per-CPU array[netns_slots()] of net_ns_stats
    int netns_drops_fd() const;  // per-CPU hash: net_ns_drop_key -> count
    uint32_t netns_slots() const;
    // Whether the probe ("raw_tp/tcp_rcvbuf_grow") is attached.
    bool attached(const std::string& probe) const;
    std::string load_error() const { return load_error_; }

  private:
    NetProbe() : table_("net") {}
    void describe_byte_hooks();
    // Opens, loads, maps and attaches the object; failures go to table_ and load_error_.
    void load_and_attach(const SharedMaps& shared);
    ProgramTable table_;
    Skeleton<net_bpf> skel_;
    SlotTable procs_;
    std::vector<LinkPtr> links_;
    std::string load_error_;
};

}  // namespace perfbpf

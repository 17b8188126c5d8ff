// The Collector owns the loaded probes and every Source; each call to next() waits for
// the interval to end (handling ring events as they arrive) and returns its Snapshot.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collect/event_ring.h"
#include "collect/families.h"
#include "collect/proc_source.h"
#include "collect/source.h"
#include "model/finalize.h"
#include "model/snapshot.h"
#include "probes/bpf_object.h"
#include "util/result.h"

namespace perfbpf {

struct CollectorOptions {
    // The probes' interval (ProbeOptions::interval_ns) follows it: the collector sets it.
    uint64_t interval_ns = 1'000'000'000;
    std::string proc_root = "/proc";
    std::string run_netns_dir = "/run/netns";  // where `ip netns` names namespaces
    ProbeOptions probes;
    std::set<std::string> families;  // empty: all
    SnapshotFilter filter;
    std::string command = "top";  // for the privilege message
    // Between events, next() sleeps until the interval ends but looks at its `stop` this
    // often (another thread, or a signal handler run on another thread, may set it; only a
    // signal handled on the sleeping thread itself ends the sleep early).
    uint64_t stop_poll_ns = 100'000'000;
};

class Collector {
  public:
    // Fails only when nothing can be loaded at all (no privileges); a family that cannot
    // load is reported in probe_status() and the rest runs.
    static Result<std::unique_ptr<Collector>> create(const CollectorOptions& opts);

    // Blocks until the current interval ends (or `stop` becomes true: the snapshot then
    // covers the shorter interval) and returns it.
    Snapshot next(const std::atomic<bool>* stop = nullptr);

    const std::vector<ProbeStatus>& probe_status() const { return status_; }
    // Runs of every attached program, by family and probe (see enable_run_stats).
    std::map<std::string, std::map<std::string, uint64_t>> run_counts() const;
    // Run time of every attached program, ns (see enable_run_stats).
    uint64_t bpf_run_time_ns() const;
    // The probes keep the interval they were created with (a retried family too): this
    // changes only how long each snapshot waits.
    void set_interval(uint64_t ns) { opts_.interval_ns = ns; }

    // Families that did not load are tried again while the rest runs, each after a backoff
    // (10 s, doubling up to 10 min). Returns the families that loaded now.
    std::vector<std::string> retry_unavailable(uint64_t now_ns);
    // Families waiting for a retry -> ns until their next try.
    std::map<std::string, uint64_t> pending_retries(uint64_t now_ns) const;
    uint64_t interval_ns() const { return opts_.interval_ns; }
    // What families are loaded with, the interval included.
    const ProbeOptions& probe_options() const { return opts_.probes; }
    // Sampling programs keep 1 in n of their samples (ProbeFamily::keep_one_in), also
    // families loaded later by a retry.
    void keep_one_in(uint32_t n);

  private:
    explicit Collector(CollectorOptions opts) : opts_(std::move(opts)) {
        opts_.probes.interval_ns = opts_.interval_ns;
    }
    // Whether there were any.
    bool handle_events(CollectContext& ctx, std::vector<OomKill>& ooms);
    Snapshot build(CollectContext& ctx, std::vector<OomKill> ooms);

    CollectorOptions opts_;
    std::unique_ptr<SharedMaps> shared_;
    std::vector<LoadedFamily> families_;
    std::unique_ptr<EventRing> ring_;
    ProcSource* proc_ = nullptr;  // owned by sources_
    std::vector<std::unique_ptr<Source>> sources_;
    std::vector<ProbeStatus> status_;
    struct Retry {
        uint64_t next_ns = 0;
        uint64_t backoff_ns = 0;
    };
    std::map<std::string, Retry> retries_;
    void schedule_retries(uint64_t now_ns);
    uint64_t last_end_ns_ = 0;
    uint64_t page_bytes_ = 4096;
    uint32_t keep_one_in_ = 1;
};

uint64_t monotonic_ns();

}  // namespace perfbpf

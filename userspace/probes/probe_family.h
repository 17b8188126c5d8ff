// A probe family: one BPF object, loaded and attached as well as this kernel allows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/probe_status.h"

namespace perfbpf {

class ProbeFamily {
  public:
    virtual ~ProbeFamily() = default;
    virtual std::string_view name() const = 0;
    // One entry per program (and per extra attachment such as perf events).
    virtual const std::vector<ProbeStatus>& status() const = 0;
    // True when the object loaded and at least one program attached.
    virtual bool active() const = 0;
    // Runs of each attached program by probe name (see enable_run_stats).
    virtual std::map<std::string, uint64_t> run_counts() const = 0;
    // Total run time of its attached programs, ns (likewise).
    virtual uint64_t run_time_ns() const = 0;
    // The daemon's governor sheds work: a family whose programs sample keeps 1 in `n` of
    // their samples (n a power of two; 1 keeps all). Families that do not sample ignore it.
    virtual void keep_one_in(uint32_t n) { (void)n; }
};

}  // namespace perfbpf

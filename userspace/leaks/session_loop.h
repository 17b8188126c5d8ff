// The third part of a `trace --leaks` session: from the moment the target runs until a
// stop, the duration or its exit, the readers of the chosen mode sample the probes' tables
// every interval (the series the trends are classified from), with an interim report for
// the live view. An injected library is kept alive by a heartbeat meanwhile, made to
// patch the modules the target loads, and detached at the end.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "leaks/growth_reader.h"
#include "leaks/kernel_reader.h"
#include "leaks/reader.h"
#include "leaks/session.h"
#include "leaks/session_mode.h"
#include "leaks/session_target.h"
#include "symbolize/proc_maps.h"
#include "symbolize/symbolizer.h"

namespace perfbpf {

// The readers of the mode and what the report needs from the loop.
struct TraceSampling {
    TraceSampling(const LeaksTraceOptions& opts, TraceTarget& t, const TraceProbes& p,
                  uint64_t start_ns);

    // Reads every table: an interval's end.
    void sample(uint64_t now_ns);
    // The report as of now (unsymbolized), its stacks' trends classified here rather than
    // by the readers.
    LeakReport build(uint64_t now_ns) const;
    // Adds the target's current mappings to `maps`.
    void refresh_maps();

    const LeaksTraceOptions& opts;
    TraceTarget& target;
    uint64_t start_ns;
    std::unique_ptr<LeaksReader> reader;  // exact and sampled
    std::unique_ptr<LeaksGrowthReader> growth_reader;
    std::unique_ptr<LeaksKernelReader> kernel_reader;
    MappingSet maps;  // every mapping the target had, for symbolizing
    Symbolizer symbolizer;
    std::unique_ptr<KernelSymbols> ksyms;  // kernel mode
    std::vector<std::string> end_notes;    // what the end of an injection left to say
};

// Samples until `stop`, the duration or the target's exit; the last sample is taken
// after an injected library has detached (its last batch flushed).
void run_sampling_loop(const std::atomic<bool>& stop, const LeaksIntervalFn& on_interval,
                       TraceProbes& p, TraceSampling& s);

}  // namespace perfbpf

// The second part of a `trace --leaks` session: the probes of the chosen mode, loaded and
// attached to the target before it runs (exact and sampled: the allocator's calls through
// the interposition library, preloaded or injected, or uprobes in the allocator; growth:
// page faults and heap growth; kernel: the kernel's allocators), and the notes the report
// begins with (overhead, the path taken, probes that could not attach).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "leaks/inject.h"
#include "leaks/session.h"
#include "leaks/session_target.h"
#include "probes/bpf_object.h"
#include "probes/leaks_growth_probe.h"
#include "probes/leaks_kernel_probe.h"
#include "probes/leaks_probe.h"

namespace perfbpf {

struct TraceProbes {
    std::optional<SharedMaps> shared;   // made before the target starts
    std::unique_ptr<LeaksProbe> probe;  // exact and sampled
    std::unique_ptr<LeaksGrowthProbe> growth;
    std::unique_ptr<LeaksKernelProbe> kernel;
    // -p exact: the interposition library injected into the target (else uprobes in libc).
    std::optional<InjectedShim> injected;
    InjectOptions inject_opts;
    std::vector<std::string> notes;
};

// Loads and attaches the probes of opts.mode to the started (not yet running) target.
Result<void> setup_mode(const LeaksTraceOptions& opts, TraceTarget& t, TraceProbes& p);

}  // namespace perfbpf

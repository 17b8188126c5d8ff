// Whether each probe could be attached: the capability matrix doctor, top and the daemon
// show. Apart from Snapshot because probe loaders report it and need nothing else of it.
#pragma once

#include <string>

namespace perfbpf {

struct ProbeStatus {
    std::string family;  // "sched", "block", "net", "mem", "procfs"
    std::string probe;   // "raw_tp/sched_switch", "perf_event/cpu-clock", "/proc/pressure"
    bool attached = false;
    bool core = true;      // core probes must attach for doctor to pass
    std::string reason;    // why not, when not attached
    bool skipped = false;  // left out on purpose (not needed on this kernel)
};

}  // namespace perfbpf

// The process a memory incident is about when it is one process's memory growing: the
// target of the daemon's growth-mode leak capture (daemon/daemon_leaks.h). Pure.
#pragma once

#include <optional>
#include <string>

#include "detect/incidents.h"

namespace perfbpf {

struct GrowthTarget {
    int pid = 0;
    std::string comm;
};

// The process of the incident's highest-scored series that is a process's resident memory
// (rss_bytes, rss_anon_bytes, rss_growth_bytes ...) above its band: growing, not shrinking.
// Never `exclude_pid` (perfbpf itself). nullopt when no series is one.
std::optional<GrowthTarget> memory_growth_target(const Incident& incident, int exclude_pid);

}  // namespace perfbpf

// Process knobs (nice, CPU affinity): read from PROC/PID files, written with the syscalls,
// to every thread of the process (both are per-thread settings in Linux).
#pragma once

#include <set>
#include <string>

#include "util/result.h"

namespace perfbpf::tune {

Result<int> read_nice(const std::string& proc, int pid);
Result<void> write_nice(const std::string& proc, int pid, int nice);
Result<std::set<int>> read_affinity(const std::string& proc, int pid);
Result<void> write_affinity(const std::string& proc, int pid, const std::set<int>& cpus);
// Field 22 of PROC/PID/stat: start time in clock ticks after boot (tells a reused pid).
Result<std::string> process_start_time(const std::string& proc, int pid);

}  // namespace perfbpf::tune

// /proc/vmstat's counters as a system sample's amounts within an interval
// (collect/system_source reads the file). Pure, so unit tests feed it text.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "model/snapshot.h"

namespace perfbpf {

// Whether apply_vmstat reads counter `key`. The file has ≈180 counters; parsing only
// these spares a string and a map node for each of the others every interval.
bool vmstat_key_applied(std::string_view key);

// The growth of the counters between two reads, into `sys`.
void apply_vmstat(const std::map<std::string, uint64_t>& now,
                  const std::map<std::string, uint64_t>& before, SystemSample& sys);

}  // namespace perfbpf

// /proc/PID/maps as values, and the translation of a runtime address to the address in
// its ELF file (what addr2line and DWARF use), through the load bias of the mapping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/mapping.h"
#include "util/result.h"

namespace perfbpf {

// Parses the text of /proc/PID/maps (lines that do not parse are skipped).
std::vector<Mapping> parse_proc_maps(std::string_view text);

// The mappings of a process over time: a later read adds and replaces ranges, and keeps
// ranges that were unmapped since (a library dlclose'd after it allocated, or the whole
// process after it exited, must still symbolize).
class MappingSet {
  public:
    void merge(const std::vector<Mapping>& now);
    // The file mapping that contains addr (executable mappings preferred).
    const Mapping* find(uint64_t addr) const;
    bool empty() const { return maps_.empty(); }
    const std::vector<Mapping>& all() const { return maps_; }

  private:
    std::vector<Mapping> maps_;  // sorted by start, non-overlapping
};

// Reads /proc/PID/maps from proc_root ("/proc").
Result<std::vector<Mapping>> read_proc_maps(int pid, const std::string& proc_root = "/proc");

}  // namespace perfbpf

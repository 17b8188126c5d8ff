// The mappings a process made while traced (from its mmap calls, in order with growth
// mode's samples): whether an address was last mapped from a file or anonymously, for
// mappings /proc/PID/maps may never show (mapped and unmapped between two reads).
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace perfbpf {

class RecentMappings {
  public:
    // [start, start + len) is now mapped from a file or anonymously: it replaces whatever
    // earlier mappings covered.
    void add(uint64_t start, uint64_t len, bool file);
    // Whether the last mapping that covered addr was a file's; nullopt when none did.
    std::optional<bool> file_at(uint64_t addr) const;
    size_t size() const { return ranges_.size(); }

  private:
    struct Range {
        uint64_t end;
        bool file;
    };
    std::map<uint64_t, Range> ranges_;  // by start, non-overlapping
};

}  // namespace perfbpf

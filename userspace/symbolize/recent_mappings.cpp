#include "symbolize/recent_mappings.h"

namespace perfbpf {

void RecentMappings::add(uint64_t start, uint64_t len, bool file) {
    if (len == 0 || start + len < start) return;
    const uint64_t end = start + len;
    // A range that begins before start and reaches into it keeps its head.
    auto it = ranges_.lower_bound(start);
    if (it != ranges_.begin()) {
        auto prev = std::prev(it);
        if (prev->second.end > start) {
            const Range tail = prev->second;
            prev->second.end = start;
            if (tail.end > end) ranges_[end] = Range{tail.end, tail.file};
        }
    }
    // Ranges that begin inside [start, end) go; one reaching past end keeps its tail.
    it = ranges_.lower_bound(start);
    while (it != ranges_.end() && it->first < end) {
        const Range r = it->second;
        it = ranges_.erase(it);
        if (r.end > end) ranges_[end] = r;
    }
    ranges_[start] = Range{end, file};
}

std::optional<bool> RecentMappings::file_at(uint64_t addr) const {
    auto it = ranges_.upper_bound(addr);
    if (it == ranges_.begin()) return std::nullopt;
    --it;
    if (addr >= it->second.end) return std::nullopt;
    return it->second.file;
}

}  // namespace perfbpf

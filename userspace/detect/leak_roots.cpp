#include "detect/leak_roots.h"

#include <algorithm>

namespace perfbpf {

std::vector<RootRange> select_roots(const std::vector<Mapping>& maps,
                                    std::span<const uint64_t> stack_pointers,
                                    std::span<const HeldBlock> blocks) {
    std::vector<std::pair<uint64_t, uint64_t>> spans;  // [start, end) of each block
    spans.reserve(blocks.size());
    for (const auto& b : blocks) spans.emplace_back(b.addr, b.addr + std::max<uint64_t>(b.size, 1));
    std::sort(spans.begin(), spans.end());
    // Longest block end at or before each position, so an overlap test is one search.
    std::vector<uint64_t> max_end(spans.size());
    for (size_t i = 0; i < spans.size(); ++i)
        max_end[i] = std::max(spans[i].second, i ? max_end[i - 1] : 0);
    auto holds_block = [&](uint64_t start, uint64_t end) {
        auto it = std::lower_bound(spans.begin(), spans.end(), std::make_pair(end, uint64_t{0}));
        if (it == spans.begin()) return false;
        return max_end[static_cast<size_t>(it - spans.begin()) - 1] > start;
    };

    std::vector<RootRange> roots;
    for (const auto& m : maps) {
        if (!m.readable || !m.writable || m.end <= m.start) continue;
        if (m.path == "[heap]" || m.path == "[vvar]" || m.path == "[vsyscall]") continue;
        if (m.path.starts_with("/dev/") && !m.path.starts_with("/dev/shm/")) continue;
        if (holds_block(m.start, m.end)) continue;
        uint64_t from = m.start;
        uint64_t lowest_sp = UINT64_MAX;
        for (uint64_t sp : stack_pointers)
            if (sp >= m.start && sp < m.end) lowest_sp = std::min(lowest_sp, sp);
        if (lowest_sp != UINT64_MAX)
            from = std::max(m.start, lowest_sp > kStackRedZone ? lowest_sp - kStackRedZone : 0);
        roots.push_back({from, m.end});
    }
    return roots;
}

}  // namespace perfbpf

// A kernel counter's key in its file (/proc/net/netstat, /proc/vmstat) and the sample field
// its growth within the interval fills: one table of these per file drives both what the
// parse keeps and what the deltas fill, so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <string_view>

namespace perfbpf {

template <class Sample>
struct CounterField {
    std::string_view key;  // as the file's parser names it
    uint64_t Sample::*field;
};

}  // namespace perfbpf

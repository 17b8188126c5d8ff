// Reachability of the allocations still outstanding at the end of a leak trace, as
// valgrind's memcheck and LeakSanitizer decide it: every aligned 8-byte word of the roots
// (registers, stacks, writable data of the modules) and of every block found so far is a
// candidate pointer. Pure logic: the target's memory comes through a callback.
//
// Classes, following memcheck's defaults (mc_leakcheck.c):
// - reachable: reached from a root through a chain of pointers to blocks' starts;
// - possibly lost: reached, but only through chains with a pointer into a block's interior
//   (memcheck's "possibly lost"; its C++ heuristics for std::string, new[] and multiple
//   inheritance, which accept some interior pointers as start pointers, are not applied);
// - definitely lost: not reached; a group of unreached blocks that point to each other
//   (a cycle included) has one of them as definitely lost, the leader, the first by
//   address not reached from an earlier leader;
// - indirectly lost: not reached from the roots, but from a definitely lost block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace perfbpf {

// One outstanding allocation of the target.
struct HeldBlock {
    uint64_t addr = 0;
    uint64_t size = 0;
    uint32_t stack = 0;  // the tracer's stack id
};

// Memory to scan as a root: [start, end).
struct RootRange {
    uint64_t start = 0;
    uint64_t end = 0;
};

enum class Reach : uint8_t { DefinitelyLost, IndirectlyLost, PossiblyLost, Reachable };

// Copies up to out.size() bytes of the target from `addr`; returns how many it could
// (fewer at an unreadable page).
using ReadTargetMemory = std::function<size_t(uint64_t addr, std::span<uint8_t> out)>;

struct ReachTotals {
    uint64_t blocks = 0;
    uint64_t bytes = 0;
};

struct Reachability {
    std::vector<Reach> reach;  // one per block, in the order given
    ReachTotals definitely_lost, indirectly_lost, possibly_lost, reachable;
    uint64_t root_bytes = 0;        // root memory read
    uint64_t unreadable_bytes = 0;  // root or block memory that could not be read
};

// `blocks` need not be sorted, must not overlap. `root_words`: values held outside memory
// (thread registers). Iterative: no recursion however long the chains.
Reachability classify_reachability(std::span<const HeldBlock> blocks,
                                   std::span<const RootRange> roots,
                                   std::span<const uint64_t> root_words,
                                   const ReadTargetMemory& read);

const char* reach_name(Reach r);

}  // namespace perfbpf

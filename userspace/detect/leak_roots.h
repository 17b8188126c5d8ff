// Which memory of a stopped target is a root for the reachability scan at the end of a
// leak trace (detect/leak_reachability): the rule, on values, so it can be tested.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "detect/leak_reachability.h"
#include "model/mapping.h"

namespace perfbpf {

// x86-64's red zone: a leaf function may keep values this far below the stack pointer.
inline constexpr uint64_t kStackRedZone = 128;

// Roots, from the target's mappings and its threads' stack pointers:
// - every mapping both readable and writable: the data and bss of every module, thread
//   stacks (their TLS and thread descriptor sit at the top), the main thread's TLS,
//   anonymous memory the program or its libraries mapped;
// - except the brk heap ("[heap]"), any mapping that holds an outstanding block (malloc's
//   other arenas and its mmapped chunks, the program's tracked anonymous mmaps: reached only
//   through pointers, like any block), and device files (/dev/..., reading may act on the
//   device) other than /dev/shm;
// - a mapping that holds a thread's stack pointer from that pointer minus the red zone to
//   its end: below it is dead stack (several threads in one mapping: the lowest).
// `blocks` in any order.
std::vector<RootRange> select_roots(const std::vector<Mapping>& maps,
                                    std::span<const uint64_t> stack_pointers,
                                    std::span<const HeldBlock> blocks);

}  // namespace perfbpf

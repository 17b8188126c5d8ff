// Fills the frames of a LeakReport's stacks: user addresses through the process's
// mappings and DWARF, kernel addresses through /proc/kallsyms. Frames of perfbpf's own
// interposition library are removed; a stack that does not reach the thread's first
// function is marked truncated.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model/leaks.h"
#include "symbolize/proc_maps.h"
#include "symbolize/symbolizer.h"

namespace perfbpf {

void symbolize_report(LeakReport& report, const MappingSet& maps, Symbolizer& symbolizer,
                      const KernelSymbols* kernel);

// True when the code just before `addr` in the process is a call instruction (addr is
// then plausibly a return address).
bool follows_call(const MappingSet& maps, uint64_t addr);

// True when `function` is where a thread's stack starts (_start, start_thread, clone...).
bool is_stack_root(const std::string& function);

// Return addresses this far past an executable's entry point are in its entry function
// (_start calls __libc_start_main within its first 40 bytes).
inline constexpr uint64_t kEntryFunctionSpan = 64;

// Pure: whether a user stack stopped short of its thread's first function. It did not
// when the unwinder reached the outermost frame itself (s.whole), when its last frame is
// named as a stack root, or, whatever the symbols, when its last frame's address lies in
// its module's entry function; `entry_of(module)` gives a module's ELF entry point (0:
// none or unknown). A stack of LEAKS_MAX_DEPTH frames the unwinder did not finish is cut.
bool user_stack_truncated(const LeakStack& s,
                          const std::function<uint64_t(const std::string&)>& entry_of);

// The ELF entry point of `path` (e_entry, a virtual address), 0 when it has none or is
// not readable.
uint64_t elf_entry(const std::string& path);

}  // namespace perfbpf

// Fills the frames of a LeakReport's stacks: user addresses through the process's
// mappings and DWARF, kernel addresses through /proc/kallsyms. Frames of perfbpf's own
// interposition library are removed; a stack that does not reach the thread's first
// function is marked truncated.
#pragma once

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

}  // namespace perfbpf

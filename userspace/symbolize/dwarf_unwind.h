// Unwinds a user stack from a copy of it: the registers at an event and a slice of the
// stack from the stack pointer (what growth mode's BPF program records, as perf's
// --call-graph dwarf does), through the DWARF CFI (.eh_frame, .debug_frame) of the
// process's modules with elfutils libdwfl; code without CFI falls back to its frame
// pointer. Reads ELF files only, so it works after the process exited and on recorded
// stacks in unit tests.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "symbolize/proc_maps.h"

namespace perfbpf {

struct UserRegs {
    uint64_t ip = 0;
    uint64_t sp = 0;
    uint64_t bp = 0;
};

struct UnwoundStack {
    std::vector<uint64_t> ips;  // ips[0] = regs.ip, then return addresses, innermost first
    bool whole = false;         // the CFI itself ended the chain (outermost frame reached)
};

// The stack one growth-mode sample stands for.
struct SampleStack {
    std::vector<uint64_t> ips;
    bool whole = false;             // the DWARF unwind reached the outermost frame
    uint64_t caller_candidate = 0;  // frame-pointer stacks: the word at sp
    bool from_frame_pointers = false;
};

// Pure: the DWARF unwind, unless it stopped early where the kernel's frame-pointer walk
// (fp_ips, and the top word as a leaf's caller) went further.
SampleStack pick_sample_stack(const UnwoundStack& dwarf, std::span<const uint64_t> fp_ips,
                              uint64_t top_word);

class DwarfUnwinder {
  public:
    DwarfUnwinder();
    ~DwarfUnwinder();
    DwarfUnwinder(const DwarfUnwinder&) = delete;
    DwarfUnwinder& operator=(const DwarfUnwinder&) = delete;

    // Makes the file mappings of `maps` known (each module's CFI is read once, when a
    // stack first passes through it). Modules already known are kept.
    void add_modules(const MappingSet& maps);

    // At most `max_depth` frames. `stack` holds the memory from regs.sp upwards; a frame
    // whose CFA or saved registers lie beyond it ends the unwind (not whole).
    UnwoundStack unwind(int tid, const UserRegs& regs, std::span<const uint8_t> stack,
                        size_t max_depth);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace perfbpf

// Kernel mode's user stacks: each user context bpf/leaks_kernel.bpf.c sends once (the
// registers at the target's kernel entry and a copy of its user stack), unwound with the
// modules' DWARF CFI when it arrives, as growth mode unwinds its samples; the kernel's
// frame-pointer walk where that goes further.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "perfbpf/leaks_kernel.h"
#include "symbolize/dwarf_unwind.h"

namespace perfbpf {

// Pure: the header of a record from the ring buffer "kustacks" and its stack copy, or
// nothing when the record is shorter than what it says it holds.
struct UserContextRecord {
    kleaks_ustack hdr;
    std::span<const uint8_t> stack;
};
std::optional<UserContextRecord> parse_user_context(std::span<const uint8_t> data);

class UserContexts {
  public:
    explicit UserContexts(int ring_fd);
    ~UserContexts();
    UserContexts(const UserContexts&) = delete;
    UserContexts& operator=(const UserContexts&) = delete;

    // Takes the contexts sent since the last call out of the ring buffer (cheap: often, so
    // the buffer does not fill between two intervals); they are unwound by consume().
    void drain();
    // Unwinds the contexts sent since the last call; `maps`: the target's mappings now.
    void consume(const MappingSet& maps);
    // The unwound stack of context `id`, null when it never arrived (or id is 0: none).
    const SampleStack* find(uint32_t id) const;

    uint64_t malformed() const { return malformed_; }
    uint64_t frame_pointer_stacks() const { return fp_fallbacks_; }

  private:
    static int on_record(void* ctx, void* data, size_t size);

    ring_buffer* rb_ = nullptr;
    DwarfUnwinder unwinder_;
    std::unordered_map<uint32_t, SampleStack> stacks_;
    std::vector<std::vector<uint8_t>> pending_;  // records drained, not unwound yet
    uint64_t malformed_ = 0, fp_fallbacks_ = 0;
};

}  // namespace perfbpf

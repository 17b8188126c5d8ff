// A table of per-object slots the BPF side claims (bpf/common.bpf.h, tgid_slot) and user
// space reads in place: the slots and the bitmap of claimed ones, both mapped, and the
// claims hash that arbitrates between CPUs claiming one slot.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "probes/mapped_map.h"
#include "util/result.h"

namespace perfbpf {

class SlotTable {
  public:
    // Maps `count` slots of `slot_bytes` from the map `slots_fd` and count / 64 words from
    // `used_fd`; `name` names the table in errors.
    static Result<SlotTable> map(int slots_fd, int used_fd, int claims_fd, uint32_t count,
                                 size_t slot_bytes, const std::string& name);
    SlotTable() = default;

    template <class Slot>
    std::span<Slot> slots() const {
        if (!slots_.data() || sizeof(Slot) != slot_bytes_) return {};
        return {static_cast<Slot*>(slots_.data()), count_};
    }
    std::span<uint64_t> used() const {
        if (!used_.data()) return {};
        return {static_cast<uint64_t*>(used_.data()), count_ / 64};
    }
    // fn(index) for every claimed slot: the bitmap's words, not every slot's line, are
    // what a read scans (16,384 slots: 256 words).
    template <class Fn>
    void for_each_claimed(Fn&& fn) const {
        const auto words = used();
        for (uint32_t w = 0; w < words.size(); ++w)
            for (uint64_t bits = __atomic_load_n(&words[w], __ATOMIC_RELAXED); bits;
                 bits &= bits - 1)
                fn(w * 64 + static_cast<uint32_t>(std::countr_zero(bits)));
    }
    // Frees slot idx once user space has read it for the last time: its bit first, then
    // its bytes, then its claim. Until the claim goes no CPU can take the slot (it is
    // neither free nor anyone's), and its next claimer sets the bit again.
    void release(uint32_t idx) const;

  private:
    MappedMap slots_, used_;
    int claims_fd_ = -1;
    uint32_t count_ = 0;
    size_t slot_bytes_ = 0;
};

}  // namespace perfbpf

// Log2 histogram of durations in µs, the same slot layout the BPF side fills
// (slot 0: < 1 µs; slot k: [2^(k-1), 2^k) µs). Percentiles interpolate inside a slot.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace perfbpf {

class Log2Histogram {
  public:
    static constexpr size_t kSlots = 32;

    // Slot for a value in µs (as the BPF helper hist_slot_us computes it).
    static size_t slot_for_us(uint64_t us);
    // Lower and upper bound in µs of a slot.
    static double slot_low_us(size_t slot);
    static double slot_high_us(size_t slot);

    void add_us(uint64_t us, uint64_t count = 1) { slots_[slot_for_us(us)] += count; }
    void add_slot(size_t slot, uint64_t count) {
        slots_[slot < kSlots ? slot : kSlots - 1] += count;
    }
    template <class T>
    void add_slots(std::span<const T> counts) {
        for (size_t i = 0; i < counts.size() && i < kSlots; ++i) slots_[i] += counts[i];
    }
    void merge(const Log2Histogram& other);
    // this - older, slot by slot, clamped at 0 (for cumulative counters that were reset).
    Log2Histogram minus(const Log2Histogram& older) const;

    uint64_t count() const;
    bool empty() const { return count() == 0; }
    // q in [0,1]; 0 when empty. Linear interpolation within the slot that holds the rank.
    double percentile_us(double q) const;
    uint64_t slot(size_t i) const { return slots_[i]; }
    const std::array<uint64_t, kSlots>& slots() const { return slots_; }

    bool operator==(const Log2Histogram&) const = default;

  private:
    std::array<uint64_t, kSlots> slots_{};
};

}  // namespace perfbpf

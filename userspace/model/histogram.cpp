#include "model/histogram.h"

#include <bit>
#include <cmath>

namespace perfbpf {

size_t Log2Histogram::slot_for_us(uint64_t us) {
    if (us == 0) return 0;
    size_t slot = static_cast<size_t>(std::bit_width(us));  // floor(log2)+1
    return slot < kSlots ? slot : kSlots - 1;
}

double Log2Histogram::slot_low_us(size_t slot) {
    return slot == 0 ? 0.0 : std::ldexp(1.0, static_cast<int>(slot) - 1);
}

double Log2Histogram::slot_high_us(size_t slot) {
    return slot == 0 ? 1.0 : std::ldexp(1.0, static_cast<int>(slot));
}

void Log2Histogram::merge(const Log2Histogram& other) {
    for (size_t i = 0; i < kSlots; ++i) slots_[i] += other.slots_[i];
}

Log2Histogram Log2Histogram::minus(const Log2Histogram& older) const {
    Log2Histogram out;
    for (size_t i = 0; i < kSlots; ++i)
        out.slots_[i] = slots_[i] >= older.slots_[i] ? slots_[i] - older.slots_[i] : 0;
    return out;
}

uint64_t Log2Histogram::count() const {
    uint64_t n = 0;
    for (auto c : slots_) n += c;
    return n;
}

double Log2Histogram::percentile_us(double q) const {
    uint64_t total = count();
    if (total == 0) return 0.0;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    // Rank of the wanted sample, 1-based, as in nearest-rank percentiles.
    double rank = std::max(1.0, std::ceil(q * static_cast<double>(total)));
    double seen = 0;
    for (size_t i = 0; i < kSlots; ++i) {
        if (slots_[i] == 0) continue;
        double next = seen + static_cast<double>(slots_[i]);
        if (rank <= next) {
            // Each of the slot's samples stands at the centre of an equal share of it, so
            // the estimate never sits on an edge: a rank that is a slot's last sample
            // (the maximum of four I/Os) would otherwise read as the exact power of two
            // (16.4 ms, 32.8 ms) it only bounds.
            double frac = (rank - seen - 0.5) / static_cast<double>(slots_[i]);
            double lo = slot_low_us(i), hi = slot_high_us(i);
            return lo + frac * (hi - lo);
        }
        seen = next;
    }
    return slot_high_us(kSlots - 1);
}

}  // namespace perfbpf

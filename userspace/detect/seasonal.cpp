#include "detect/seasonal.h"

#include <algorithm>

namespace perfbpf {

PeriodProfile::PeriodProfile(int64_t period_ms, size_t slots, int memory)
    : period_ms_(period_ms), slot_ms_(period_ms / int64_t(slots)), memory_(memory) {}

void PeriodProfile::learn(int64_t ts_ms, int64_t span_ms, double value) {
    if (mean_.empty()) {
        const size_t slots = size_t(period_ms_ / slot_ms_);
        mean_.assign(slots, 0.0F);
        periods_.assign(slots, 0);
    }
    const int64_t end = ts_ms + std::max<int64_t>(span_ms, 1);
    for (int64_t t = ts_ms; t < end;) {
        const int64_t slot = t / slot_ms_;
        const int64_t slot_end = (slot + 1) * slot_ms_;
        const int64_t upto = std::min(end, slot_end);
        if (slot != open_slot_) {
            fold();
            open_slot_ = slot;
        }
        const double w = double(upto - t);
        open_sum_ += value * w;
        open_weight_ += w;
        t = upto;
    }
}

// A slot seen for less than half of it (the first one after a start) is not learned: its
// mean could be one minute of a cycle that moves within the slot.
void PeriodProfile::fold() {
    if (open_slot_ >= 0 && open_weight_ >= 0.5 * double(slot_ms_)) {
        const size_t i = size_t(open_slot_ % int64_t(mean_.size()));
        const int seen = std::min<int>(periods_[i] + 1, 255);
        const double mean = open_sum_ / open_weight_;
        mean_[i] += float((mean - mean_[i]) / std::min(seen, memory_));
        if (seen == 1) ++learned_;
        if (seen == 2) ++twice_learned_;
        periods_[i] = uint8_t(seen);
    }
    open_sum_ = 0;
    open_weight_ = 0;
}

std::optional<double> PeriodProfile::expected(int64_t ts_ms) const {
    if (learned_ == 0) return std::nullopt;
    const size_t n = mean_.size();
    const size_t at = size_t((ts_ms / slot_ms_) % int64_t(n));
    for (size_t back = 0; back < n; ++back) {
        const size_t i = (at + n - back) % n;
        if (periods_[i] > 0) return mean_[i];
    }
    return std::nullopt;
}

double PeriodProfile::coverage() const {
    return mean_.empty() ? 0 : double(twice_learned_) / double(mean_.size());
}

SeasonalBaseline::SeasonalBaseline()
    : day_(kDayMs, 288, kDayMemory), week_(kWeekMs, 168, kWeekMemory) {}

// The week profile learns against the day profile as it stands: in the first day there is
// nothing to learn against, so a week profile matures about a day after its second week.
void SeasonalBaseline::learn(int64_t ts_ms, int64_t span_ms, double value) {
    if (auto day = day_.expected(ts_ms)) week_.learn(ts_ms, span_ms, value - *day);
    day_.learn(ts_ms, span_ms, value);
}

bool SeasonalBaseline::refresh_source() {
    Source next = Source::none;
    if (day_.coverage() >= kMatureCoverage)
        next = week_.coverage() >= kMatureCoverage ? Source::week : Source::day;
    const bool changed = next != source_;
    source_ = next;
    return changed;
}

double SeasonalBaseline::expected(int64_t ts_ms) const {
    if (source_ == Source::none) return 0;
    double v = day_.expected(ts_ms).value_or(0);
    if (source_ == Source::week) v += week_.expected(ts_ms).value_or(0);
    return v;
}

}  // namespace perfbpf

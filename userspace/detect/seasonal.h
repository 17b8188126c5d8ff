// What a series usually does at this time of day and of the week, learned from the series
// itself (live, or seeded from the history's minute and hour tiers), so a nightly backup or
// business-hours load is expected rather than anomalous once it has been seen twice.
//
// The day profile holds the mean of each 5-minute slot of the (UTC) day over the days seen:
// a plain mean over the first kDayMemory days, then an exponential one with that weight, so
// a changed routine is learned within about a week. The week profile holds, per hour of the
// week, the mean of what the day profile did not explain (a quiet weekend), learned the same
// way over weeks. Pure: values in, expectations out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace perfbpf {

// Means per slot of a repeating period, each slot learned once per period it was seen in.
class PeriodProfile {
  public:
    PeriodProfile(int64_t period_ms, size_t slots, int memory);

    // A value that held over [ts_ms, ts_ms + span_ms) (a raw point: span = its interval; a
    // minute or hour aggregate: its step). Values arrive in time order.
    void learn(int64_t ts_ms, int64_t span_ms, double value);
    // The mean of ts's slot, else of the nearest slot before it that has been learned;
    // nothing before anything was learned.
    std::optional<double> expected(int64_t ts_ms) const;
    // Share of slots learned in two periods or more.
    double coverage() const;
    bool empty() const { return mean_.empty(); }
    size_t bytes() const { return mean_.capacity() * sizeof(float) + periods_.capacity(); }

  private:
    void fold();

    int64_t period_ms_;
    int64_t slot_ms_;
    int memory_;
    std::vector<float> mean_;       // allocated on first learn
    std::vector<uint8_t> periods_;  // how many periods each slot has been learned in
    size_t twice_learned_ = 0;
    // Slots learned at least once: with none, expected() need not look at all of them (it
    // did, for every value of every series in its first slot: 10 % of the daemon's CPU).
    size_t learned_ = 0;
    int64_t open_slot_ = -1;  // absolute slot number (ts / slot_ms) being accumulated
    double open_sum_ = 0;
    double open_weight_ = 0;
};

class SeasonalBaseline {
  public:
    static constexpr int64_t kDayMs = 86'400'000;
    static constexpr int64_t kWeekMs = 7 * kDayMs;
    static constexpr int kDayMemory = 7;   // days
    static constexpr int kWeekMemory = 4;  // weeks
    // A profile is used once this share of its slots has been learned twice: a day that
    // started mid-way (a restart, a seed that does not end at midnight) still counts.
    static constexpr double kMatureCoverage = 0.8;

    SeasonalBaseline();

    void learn(int64_t ts_ms, int64_t span_ms, double value);

    // Which profiles the expectation uses; fixed between calls to refresh_source so the
    // recent residuals a detector keeps all mean the same thing.
    enum class Source : uint8_t { none, day, week };
    Source source() const { return source_; }
    // Re-decides the source from the profiles' coverage; true when it changed.
    bool refresh_source();
    // The seasonal part of a value at ts (0 with no source).
    double expected(int64_t ts_ms) const;
    size_t bytes() const { return day_.bytes() + week_.bytes(); }

  private:
    PeriodProfile day_;
    PeriodProfile week_;  // what the day profile leaves, per hour of the week
    Source source_ = Source::none;
};

}  // namespace perfbpf

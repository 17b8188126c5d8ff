#include "detect/governor.h"

#include <array>
#include <cstdio>

namespace perfbpf {
namespace {

// Cheapest cuts first: tcp_probe samples (it fires on every segment received; RTT and
// windows are distributions, which a sample keeps) and process series (map reads, history
// rows and exposition) cost no accuracy of the host-wide counts; a longer interval
// coarsens everything.
const std::array<GovernorShed, Governor::kMaxLevel + 1> kLevels{{
    {0, 1.0, 1, 1, ""},
    {1, 0.5, 1, 8, "tcp_probe samples 1 in 8, half the process series"},
    {2, 0.2, 2, 32, "tcp_probe samples 1 in 32, a fifth of the process series, interval x2"},
    {3, 0.1, 4, 128, "tcp_probe samples 1 in 128, a tenth of the process series, interval x4"},
}};

std::string pct(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f %%", v);
    return buf;
}

}  // namespace

const GovernorShed& Governor::shed_at(int level) {
    if (level < 0) level = 0;
    if (level > kMaxLevel) level = kMaxLevel;
    return kLevels[static_cast<size_t>(level)];
}

const GovernorShed& Governor::shed() const {
    return shed_at(level_);
}

std::optional<Governor::Step> Governor::observe(double cost_pct) {
    const std::string cost = "cost " + pct(cost_pct) + " of one CPU, budget " + pct(budget_pct_);
    if (cost_pct > budget_pct_) {
        calm_periods_ = 0;
        if (level_ == kMaxLevel) return std::nullopt;
        Step s{level_, level_ + 1, ""};
        ++level_;
        s.reason = cost + ": shedding " + shed().what;
        return s;
    }
    if (level_ == 0 || cost_pct > budget_pct_ * kRelaxShare) {
        calm_periods_ = 0;
        return std::nullopt;
    }
    if (++calm_periods_ < kRelaxAfter) return std::nullopt;
    calm_periods_ = 0;
    Step s{level_, level_ - 1, ""};
    --level_;
    s.reason = cost + ": restoring " +
               (level_ == 0 ? std::string("full collection") : "to " + shed().what);
    return s;
}

}  // namespace perfbpf

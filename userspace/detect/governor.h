// The daemon's overhead governor: once a period the daemon measures what it costs (its own
// CPU time plus its BPF programs' run time, as a share of one CPU) and the governor says
// how much to shed. A pure decision, so its steps are tested on synthetic costs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace perfbpf {

// What a level sheds, relative to the configured settings.
struct GovernorShed {
    int level = 0;
    double process_series_factor = 1;  // share of top_processes kept
    int interval_factor = 1;           // the interval is multiplied by this
    uint32_t sample_one_in = 1;        // sampling probes (tcp:tcp_probe) keep 1 in this many
    std::string what;                  // for the log and the status ("" at level 0)
};

class Governor {
  public:
    static constexpr int kMaxLevel = 3;
    // Below budget x kRelaxShare for kRelaxAfter periods in a row, it steps back up: the
    // gap keeps it from flapping around the budget.
    static constexpr double kRelaxShare = 0.5;
    static constexpr int kRelaxAfter = 2;

    explicit Governor(double budget_pct) : budget_pct_(budget_pct) {}
    void set_budget(double budget_pct) { budget_pct_ = budget_pct; }

    struct Step {
        int from = 0, to = 0;
        std::string reason;  // the cost against the budget, and what is shed or restored
    };
    // One measurement: cost in % of one CPU. A step when the level changes.
    std::optional<Step> observe(double cost_pct);

    int level() const { return level_; }
    const GovernorShed& shed() const;
    static const GovernorShed& shed_at(int level);

  private:
    double budget_pct_;
    int level_ = 0;
    int calm_periods_ = 0;
};

}  // namespace perfbpf

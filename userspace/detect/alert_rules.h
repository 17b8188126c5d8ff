// Alert rules: a selector over the daemon's series, an aggregation, a window, thresholds
// and how long they must hold; and the state machine that turns each interval's values into
// alerts (inactive -> pending -> firing(warning|critical) -> resolved) per rule and object.
// Pure: the daemon feeds it series, the sinks deliver what it returns.
//
// A rule, as written in the config (`[[alert]]`, README "Alert rules"):
//   select    = 'lat_p99_us{device=~"sd.*"}'   a metric (catalogue or derived, below) and
//                                              label matchers, as `perfbpf query` reads them
//   aggregate = "each"                         each: one alert per matching series (object);
//                                              avg|max|min|sum: across the series, one alert
//   window    = "1m"                           the mean over this long (default: the last
//                                              interval alone); an object whose series
//                                              stops is seen through what is left of it
//   scale     = 0.001                          the series value times this is what the
//                                              thresholds and the summary see (µs -> ms)
//   warn, crit                                 value >= warn: warning, >= crit: critical
//   for       = 300                            seconds the value must stay >= warn to fire
//   for_intervals = 5                          and intervals in a row (both when both given)
//   clear     = 65                             a firing alert resolves below this (<= warn;
//                                              default warn); critical falls back to warning
//                                              below crit - (warn - clear)
//   labels    = { team = "db" }                added to the alert's labels
//   summary   = "{device} p99 {value} ms > {threshold} ms"
//   enabled   = false                          drops the built-in rule of this name
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "detect/verdict.h"
#include "model/selector.h"
#include "model/series.h"
#include "model/series_span.h"
#include "model/snapshot.h"
#include "util/enum_table.h"
#include "util/result.h"

namespace perfbpf {

enum class AlertAggregate : uint8_t { each, avg, max, min, sum };
inline constexpr auto kAlertAggregateNames =
    enum_table<AlertAggregate>("aggregate", {{AlertAggregate::each, "each"},
                                             {AlertAggregate::avg, "avg"},
                                             {AlertAggregate::max, "max"},
                                             {AlertAggregate::min, "min"},
                                             {AlertAggregate::sum, "sum"}});

// A rule as configured: text and numbers, comparable, validated by compile_rule.
struct AlertRuleSpec {
    std::string name;
    std::string select;
    std::string aggregate = "each";
    std::string window;  // a duration ("1m"); "" for the last interval alone
    double scale = 1;
    double warn = 0;
    std::optional<double> crit;
    double for_s = 0;
    int for_intervals = 0;
    std::optional<double> clear;
    Labels labels;
    std::string summary;
    bool enabled = true;
    std::string tuner;  // "" : none

    bool operator==(const AlertRuleSpec&) const = default;
};

struct AlertRule {
    AlertRuleSpec spec;
    Selector selector;
    AlertAggregate aggregate = AlertAggregate::each;
    int64_t window_ms = 0;
    double crit = 0;        // spec.crit, else +inf (never critical)
    double clear = 0;       // spec.clear, else warn
    double crit_clear = 0;  // critical -> warning below this
};

// Validates a spec: the metric must exist (catalogue or derived; not a histogram), crit >=
// warn, clear <= warn, for >= 0, a known aggregate, a parsable selector and window. The
// error is one line naming the rule and the field.
Result<AlertRule> compile_rule(const AlertRuleSpec& spec);

// The built-in rules (README "Alert rules" lists them with their numbers).
const std::vector<AlertRuleSpec>& default_alert_rules();

// The defaults with `configured` applied by name: a configured rule replaces the default of
// its name, `enabled = false` removes it, other names are added.
std::vector<AlertRuleSpec> merge_alert_rules(std::span<const AlertRuleSpec> configured);

// Series that exist only for alert rules, derived each interval from the snapshot and its
// verdicts: mem_used_pct, swap_used_pct (only with swap), tcp_retrans_pct (only over
// kMinSegsForRetransPct segments sent), verdict_severity{resource} (0 ok, 1 warning, 2
// critical; its evidence as the note), oom_kills{pid,comm} (1 per kill in the interval).
// /metrics exposes them too, so Prometheus can hold the same rules.
struct DerivedMetric {
    std::string_view name, unit, help;
    MetricKind kind = MetricKind::gauge;
};
std::span<const DerivedMetric> derived_alert_metrics();
inline constexpr uint64_t kMinSegsForRetransPct = 100;

// One value a rule can see: a series' value this interval and, for derived ones, a note
// ({note} in summaries: a verdict's evidence).
struct AlertSample {
    SeriesKey key;
    double value = 0;
    std::string note;
};

// The catalogue series (histograms left out), then the derived ones of one interval.
std::vector<AlertSample> alert_samples(std::span<const SeriesSample> series, const Snapshot& snap,
                                       std::span<const Verdict> verdicts);

// The daemon evaluates the rules once a span (a second, or the interval when longer:
// model/series_span.h), over what the span's intervals gave. A rule sees a counter's sum
// over the span (an OOM kill or a retransmit in any interval counts), a gauge's mean (the
// span's own share or rate), except a percentile's (`*_p50_us`, `*_p99_us`), which is the
// highest interval's (a mean of percentiles is none, and a latency rule must not average a
// bad interval away), and a level's last value. `span_snap` holds what the derived series
// read (fold_alert_inputs), `verdicts` the span's worst per resource (fold_span_verdicts). A
// span of one interval gives exactly what alert_samples gives for it.
std::vector<AlertSample> alert_span_samples(const SpanSeries& span, const Snapshot& span_snap,
                                            std::span<const Verdict> verdicts);
// Folds one interval's snapshot into the span's (`first`: the span's first interval) as far
// as the derived series read it: the system sample of the latest interval with the TCP
// segments sent and retransmitted summed over the span, and every OOM kill of the span.
void fold_alert_inputs(Snapshot& span_snap, const Snapshot& snap, bool first);
// Folds one interval's verdicts into the span's: per resource the worst (the latest of equals).
void fold_span_verdicts(std::vector<Verdict>& span, std::span<const Verdict> interval);

struct Alert {
    std::string rule;
    Labels object;  // the labels of the series it is about ({} for an aggregate)
    Labels labels;  // the rule's extra labels
    Severity severity = Severity::warning;
    double value = 0;
    double threshold = 0;  // the one crossed: warn or crit
    std::string summary;
    std::string tuner;      // the rule's tuner ("" when it names none)
    int64_t starts_ms = 0;  // when it fired
    int64_t ends_ms = 0;    // when it resolved; 0 while firing
};

enum class AlertChange : uint8_t { fired, escalated, deescalated, resolved };
inline constexpr auto kAlertChangeNames =
    enum_table<AlertChange>("alert change", {{AlertChange::fired, "firing"},
                                             {AlertChange::escalated, "escalated"},
                                             {AlertChange::deescalated, "deescalated"},
                                             {AlertChange::resolved, "resolved"}});
inline const char* alert_change_name(AlertChange c) {
    return kAlertChangeNames.name(c);
}

struct AlertEvent {
    AlertChange change;
    Alert alert;
    Severity previous = Severity::ok;  // the severity before an escalation or de-escalation
};

class AlertEngine {
  public:
    explicit AlertEngine(std::vector<AlertRule> rules = {}) { set_rules(std::move(rules)); }

    // On reload: rules kept by name keep their state; alerts of rules that are gone resolve
    // at the next evaluate.
    void set_rules(std::vector<AlertRule> rules);

    // One interval's samples, ending at now_ms: the changes it caused.
    std::vector<AlertEvent> evaluate(int64_t now_ms, std::span<const AlertSample> samples);

    // Every alert firing now.
    std::vector<Alert> firing() const;

  private:
    struct Object {
        std::deque<std::pair<int64_t, double>> window;  // (ts, value), oldest first
        std::string note;
        bool pending = false, fired = false;
        int64_t since_ms = 0;
        int intervals = 0;
        Alert alert;
    };
    struct RuleState {
        AlertRule rule;
        std::map<Labels, Object> objects;
    };
    void step(RuleState& r, int64_t now_ms, const std::map<Labels, AlertSample>& values,
              std::vector<AlertEvent>& events);

    std::vector<RuleState> rules_;
    std::vector<Alert> orphans_;  // firing alerts of rules removed by set_rules
};

// The summary with {value}, {threshold}, {warn}, {crit}, {severity}, {alert}, {object},
// {note} and {<object label>} replaced.
std::string render_summary(const AlertRule& rule, const Alert& a, const std::string& note);

}  // namespace perfbpf

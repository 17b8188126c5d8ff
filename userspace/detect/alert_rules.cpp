#include "detect/alert_rules.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "model/series_extract.h"

namespace perfbpf {
namespace {

constexpr DerivedMetric kDerived[] = {
    {"mem_used_pct", "pct", "memory in use: 100 - MemAvailable / MemTotal"},
    {"swap_used_pct", "pct", "swap in use, percent of SwapTotal (no series without swap)"},
    {"tcp_retrans_pct", "pct",
     "TCP segments retransmitted per 100 sent (only over 100 segments sent in the interval)"},
    {"verdict_severity", "", "a resource's verdict: 0 ok, 1 warning, 2 critical",
     MetricKind::level},
    {"oom_kills", "count", "an OOM kill in the interval, labelled by the killed process",
     MetricKind::counter},
};

Result<AlertRule> bad(const AlertRuleSpec& s, const std::string& field, const std::string& why) {
    return fail("alert rule " + (s.name.empty() ? std::string("(unnamed)") : s.name) + ": " +
                field + " " + why);
}

std::string num(double v) {
    std::ostringstream o;
    o.precision(4);
    o << v;
    return o.str();
}

bool is_derived(std::string_view name) {
    return std::ranges::any_of(kDerived, [&](const DerivedMetric& d) { return d.name == name; });
}

double pct(double part, double whole) {
    return whole > 0 ? 100.0 * part / whole : 0;
}

std::string label_value(const Labels& labels, std::string_view name) {
    for (const auto& [k, v] : labels)
        if (k == name) return v;
    return {};
}

// Sample values merged across series into one value (not `each`).
double combine(AlertAggregate a, std::span<const double> v) {
    double out = a == AlertAggregate::min   ? std::numeric_limits<double>::infinity()
                 : a == AlertAggregate::max ? -std::numeric_limits<double>::infinity()
                                            : 0;
    for (double x : v) {
        if (a == AlertAggregate::min)
            out = std::min(out, x);
        else if (a == AlertAggregate::max)
            out = std::max(out, x);
        else
            out += x;
    }
    if (a == AlertAggregate::avg) out /= static_cast<double>(v.size());
    return out;
}

}  // namespace

Result<AlertRule> compile_rule(const AlertRuleSpec& spec) {
    if (spec.name.empty()) return bad(spec, "name", "is missing");
    AlertRule r;
    r.spec = spec;
    auto sel = parse_selector(spec.select);
    if (!sel) return bad(spec, "select", "'" + spec.select + "': " + sel.error().message);
    if (sel->metric.empty()) return bad(spec, "select", "must name a metric");
    if (!is_derived(sel->metric)) {
        const FieldInfo* f = find_metric(sel->metric);
        if (!f) return bad(spec, "select", "names unknown metric " + sel->metric);
        if (f->kind == MetricKind::histogram)
            return bad(spec, "select",
                       "names histogram " + sel->metric + "; use its *_p99_us gauge");
    }
    r.selector = std::move(*sel);
    auto agg = kAlertAggregateNames.parse(spec.aggregate);
    if (!agg)
        return bad(spec, "aggregate",
                   "'" + spec.aggregate + "' is not one of " + kAlertAggregateNames.names());
    r.aggregate = *agg;
    if (!spec.window.empty()) {
        auto w = parse_duration_ms(spec.window);
        if (!w) return bad(spec, "window", "'" + spec.window + "': " + w.error().message);
        r.window_ms = *w;
    }
    if (!std::isfinite(spec.scale) || spec.scale <= 0) return bad(spec, "scale", "must be > 0");
    if (!std::isfinite(spec.warn)) return bad(spec, "warn", "must be a finite number");
    if (spec.crit && !(*spec.crit >= spec.warn))
        return bad(spec, "crit",
                   "(" + num(*spec.crit) + ") is below warn (" + num(spec.warn) + ")");
    if (spec.clear && !(*spec.clear <= spec.warn))
        return bad(spec, "clear",
                   "(" + num(*spec.clear) + ") is above warn (" + num(spec.warn) + ")");
    if (!(spec.for_s >= 0)) return bad(spec, "for", "(" + num(spec.for_s) + ") is negative");
    if (spec.for_intervals < 0)
        return bad(spec, "for_intervals",
                   "(" + std::to_string(spec.for_intervals) + ") is negative");
    r.crit = spec.crit.value_or(std::numeric_limits<double>::infinity());
    r.clear = spec.clear.value_or(spec.warn);
    r.crit_clear = r.crit - (spec.warn - r.clear);
    return r;
}

const std::vector<AlertRuleSpec>& default_alert_rules() {
    static const std::vector<AlertRuleSpec> rules = [] {
        auto rule = [](std::string name, std::string select, double warn,
                       std::optional<double> crit, double for_s, std::string summary) {
            AlertRuleSpec s;
            s.name = std::move(name);
            s.select = std::move(select);
            s.warn = warn;
            s.crit = crit;
            s.for_s = for_s;
            s.summary = std::move(summary);
            return s;
        };
        std::vector<AlertRuleSpec> v;
        v.push_back(
            rule("cpu_busy", "cpu_busy_pct", 70, 85, 300, "CPU busy {value} % >= {threshold} %"));
        v.back().clear = 65;
        v.push_back(rule("memory_in_use", "mem_used_pct", 75, 90, 60,
                         "memory in use {value} % >= {threshold} %"));
        v.back().clear = 70;
        v.push_back(rule("swap_in_use", "swap_used_pct", 20, std::nullopt, 60,
                         "swap in use {value} % >= {threshold} %"));
        v.back().clear = 15;
        v.push_back(rule("disk_latency_p99", "lat_p99_us", 50, 100, 60,
                         "{device} p99 {value} ms >= {threshold} ms"));
        v.back().scale = 0.001;
        v.back().clear = 40;
        v.push_back(rule("disk_queue_depth", "avg_queue_depth", 8, std::nullopt, 60,
                         "{device} average queue depth {value} >= {threshold}"));
        v.back().clear = 6;
        v.push_back(rule("tcp_retransmit_rate", "tcp_retrans_pct", 0.1, std::nullopt, 60,
                         "TCP retransmits {value} % of segments sent >= {threshold} %"));
        v.back().window = "1m";
        v.push_back(rule("verdict", "verdict_severity", 1, 2, 0, "{resource} {severity}: {note}"));
        v.back().for_intervals = 5;
        v.push_back(rule("oom_kill", "oom_kills", 1, 1, 0, "OOM killed pid {pid} {comm}"));
        v.back().window = "5m";  // a kill is one interval's sample: firing for 5 minutes
        return v;
    }();
    return rules;
}

std::vector<AlertRuleSpec> merge_alert_rules(std::span<const AlertRuleSpec> configured) {
    std::vector<AlertRuleSpec> out = default_alert_rules();
    for (const auto& c : configured) {
        auto it = std::ranges::find(out, c.name, &AlertRuleSpec::name);
        if (it != out.end()) out.erase(it);
        if (c.enabled) out.push_back(c);
    }
    return out;
}

std::span<const DerivedMetric> derived_alert_metrics() {
    return kDerived;
}

namespace {

bool is_percentile(std::string_view metric) {
    return metric.ends_with("_p99_us") || metric.ends_with("_p50_us");
}

void append_derived_samples(std::vector<AlertSample>& out, const Snapshot& snap,
                            std::span<const Verdict> verdicts) {
    const SystemSample& sys = snap.system;
    if (sys.mem_total_bytes > 0)
        out.push_back({{"mem_used_pct", {}},
                       100.0 - pct(static_cast<double>(sys.mem_available_bytes),
                                   static_cast<double>(sys.mem_total_bytes)),
                       {}});
    if (sys.swap_total_bytes > 0)
        out.push_back({{"swap_used_pct", {}},
                       pct(static_cast<double>(sys.swap_total_bytes -
                                               std::min(sys.swap_free_bytes, sys.swap_total_bytes)),
                           static_cast<double>(sys.swap_total_bytes)),
                       {}});
    if (sys.tcp_out_segs >= kMinSegsForRetransPct)
        out.push_back(
            {{"tcp_retrans_pct", {}},
             pct(static_cast<double>(sys.tcp_retransmits), static_cast<double>(sys.tcp_out_segs)),
             {}});
    for (const auto& v : verdicts)
        out.push_back({{"verdict_severity", {{"resource", v.resource}}},
                       static_cast<double>(v.severity),
                       v.evidence});
    for (const auto& o : snap.oom_kills)
        out.push_back({{"oom_kills", {{"comm", o.comm}, {"pid", std::to_string(o.pid)}}}, 1, {}});
}

}  // namespace

std::vector<AlertSample> alert_samples(std::span<const SeriesSample> series, const Snapshot& snap,
                                       std::span<const Verdict> verdicts) {
    std::vector<AlertSample> out;
    out.reserve(series.size() + 8);
    for (const auto& s : series)
        if (s.kind != MetricKind::histogram) out.push_back({s.key, s.value, {}});
    append_derived_samples(out, snap, verdicts);
    return out;
}

std::vector<AlertSample> alert_span_samples(const SpanSeries& span, const Snapshot& span_snap,
                                            std::span<const Verdict> verdicts) {
    std::vector<AlertSample> out;
    out.reserve(span.series.size() + 8);
    for (size_t i = 0; i < span.series.size(); ++i) {
        const SeriesSample& s = span.series[i];
        if (s.kind == MetricKind::histogram) continue;
        const bool worst = s.kind == MetricKind::gauge && is_percentile(s.key.metric);
        out.push_back({s.key, worst ? span.max[i] : s.value, {}});
    }
    append_derived_samples(out, span_snap, verdicts);
    return out;
}

void fold_alert_inputs(Snapshot& span_snap, const Snapshot& snap, bool first) {
    const uint64_t retransmits = first ? 0 : span_snap.system.tcp_retransmits;
    const uint64_t out_segs = first ? 0 : span_snap.system.tcp_out_segs;
    span_snap.system = snap.system;
    span_snap.system.tcp_retransmits += retransmits;
    span_snap.system.tcp_out_segs += out_segs;
    if (first) span_snap.oom_kills.clear();
    span_snap.oom_kills.insert(span_snap.oom_kills.end(), snap.oom_kills.begin(),
                               snap.oom_kills.end());
    span_snap.end_unix_ms = snap.end_unix_ms;
    span_snap.interval_ns = (first ? 0 : span_snap.interval_ns) + snap.interval_ns;
}

void fold_span_verdicts(std::vector<Verdict>& span, std::span<const Verdict> interval) {
    for (const Verdict& v : interval) {
        auto it = std::ranges::find(span, v.resource, &Verdict::resource);
        if (it == span.end())
            span.push_back(v);
        else if (v.severity >= it->severity)
            *it = v;
    }
}

std::string render_summary(const AlertRule& rule, const Alert& a, const std::string& note) {
    const std::string& t = rule.spec.summary.empty()
                               ? rule.spec.name + " {object} {value} >= {threshold}"
                               : rule.spec.summary;
    std::string out;
    for (size_t i = 0; i < t.size();) {
        size_t close = t[i] == '{' ? t.find('}', i) : std::string::npos;
        if (close == std::string::npos) {
            out += t[i++];
            continue;
        }
        const std::string key = t.substr(i + 1, close - i - 1);
        i = close + 1;
        if (key == "value")
            out += num(a.value);
        else if (key == "threshold")
            out += num(a.threshold);
        else if (key == "warn")
            out += num(rule.spec.warn);
        else if (key == "crit")
            out += rule.spec.crit ? num(*rule.spec.crit) : "-";
        else if (key == "severity")
            out += severity_name(a.severity);
        else if (key == "alert")
            out += a.rule;
        else if (key == "note")
            out += note;
        else if (key == "object") {
            std::string obj;
            for (const auto& [k, v] : a.object) obj += (obj.empty() ? "" : ",") + k + "=" + v;
            out += obj.empty() ? "host" : obj;
        } else {
            out += label_value(a.object, key);
        }
    }
    return out;
}

void AlertEngine::set_rules(std::vector<AlertRule> rules) {
    std::vector<RuleState> next;
    for (auto& r : rules) {
        auto it = std::ranges::find_if(
            rules_, [&](const RuleState& s) { return s.rule.spec.name == r.spec.name; });
        RuleState s{std::move(r), {}};
        if (it != rules_.end()) s.objects = std::move(it->objects);
        next.push_back(std::move(s));
    }
    for (const auto& old : rules_) {
        if (std::ranges::any_of(
                next, [&](const RuleState& s) { return s.rule.spec.name == old.rule.spec.name; }))
            continue;
        for (const auto& [labels, o] : old.objects)
            if (o.fired) orphans_.push_back(o.alert);
    }
    rules_ = std::move(next);
}

void AlertEngine::step(RuleState& r, int64_t now_ms, const std::map<Labels, AlertSample>& values,
                       std::vector<AlertEvent>& events) {
    const AlertRule& rule = r.rule;
    for (const auto& [labels, sample] : values) {
        Object& o = r.objects[labels];
        o.window.emplace_back(now_ms, sample.value * rule.spec.scale);
        o.note = sample.note;
    }
    for (auto it = r.objects.begin(); it != r.objects.end();) {
        Object& o = it->second;
        const bool present = values.contains(it->first);
        // The last sample stays while the object is there (window 0: only it counts); an
        // object that is gone is seen through what is left of its window.
        while (!o.window.empty() && o.window.front().first <= now_ms - rule.window_ms &&
               (o.window.size() > 1 || !present))
            o.window.pop_front();
        if (o.window.empty()) {
            // The object is gone (a process exited, a device went away): nothing holds.
            if (o.fired) {
                o.alert.ends_ms = now_ms;
                events.push_back({AlertChange::resolved, o.alert, o.alert.severity});
            }
            it = r.objects.erase(it);
            continue;
        }
        double sum = 0;
        for (const auto& [ts, v] : o.window) sum += v;
        const double value = sum / static_cast<double>(o.window.size());
        Alert& a = o.alert;
        a.value = value;
        if (!o.fired) {
            if (value >= rule.spec.warn) {
                if (!o.pending) o.since_ms = now_ms, o.intervals = 0;
                o.pending = true;
                ++o.intervals;
                if (static_cast<double>(now_ms - o.since_ms) >= rule.spec.for_s * 1000 &&
                    o.intervals >= rule.spec.for_intervals) {
                    o.fired = true;
                    o.pending = false;
                    a.rule = rule.spec.name;
                    a.object = it->first;
                    a.labels = rule.spec.labels;
                    a.tuner = rule.spec.tuner;
                    a.severity = value >= rule.crit ? Severity::critical : Severity::warning;
                    a.threshold = a.severity == Severity::critical ? rule.crit : rule.spec.warn;
                    a.starts_ms = now_ms;
                    a.ends_ms = 0;
                    a.summary = render_summary(rule, a, o.note);
                    events.push_back({AlertChange::fired, a, Severity::ok});
                }
            } else {
                o.pending = false;
            }
        } else if (value < rule.clear) {
            a.ends_ms = now_ms;
            a.summary = render_summary(rule, a, o.note);
            events.push_back({AlertChange::resolved, a, a.severity});
            it = r.objects.erase(it);
            continue;
        } else {
            const Severity before = a.severity;
            if (a.severity == Severity::warning && value >= rule.crit)
                a.severity = Severity::critical;
            if (a.severity == Severity::critical && value < rule.crit_clear)
                a.severity = Severity::warning;
            a.threshold = a.severity == Severity::critical ? rule.crit : rule.spec.warn;
            a.summary = render_summary(rule, a, o.note);
            if (a.severity != before)
                events.push_back({a.severity == Severity::critical ? AlertChange::escalated
                                                                   : AlertChange::deescalated,
                                  a, before});
        }
        if (!o.fired && !o.pending && o.window.size() <= 1 && rule.window_ms == 0) {
            it = r.objects.erase(it);
            continue;
        }
        ++it;
    }
}

std::vector<AlertEvent> AlertEngine::evaluate(int64_t now_ms,
                                              std::span<const AlertSample> samples) {
    std::vector<AlertEvent> events;
    for (auto& a : orphans_) {
        a.ends_ms = now_ms;
        events.push_back({AlertChange::resolved, a, a.severity});
    }
    orphans_.clear();
    for (auto& r : rules_) {
        std::map<Labels, AlertSample> values;
        std::vector<double> matched;
        const AlertSample* first = nullptr;
        for (const auto& s : samples) {
            if (!matches(r.rule.selector, s.key)) continue;
            if (r.rule.aggregate == AlertAggregate::each) values.emplace(s.key.labels, s);
            matched.push_back(s.value);
            if (!first) first = &s;
        }
        if (r.rule.aggregate != AlertAggregate::each && !matched.empty())
            values.emplace(Labels{}, AlertSample{{r.rule.selector.metric, {}},
                                                 combine(r.rule.aggregate, matched),
                                                 matched.size() == 1 ? first->note : ""});
        step(r, now_ms, values, events);
    }
    return events;
}

std::vector<Alert> AlertEngine::firing() const {
    std::vector<Alert> out;
    for (const auto& r : rules_)
        for (const auto& [labels, o] : r.objects)
            if (o.fired) out.push_back(o.alert);
    return out;
}

}  // namespace perfbpf

#include "daemon/daemon_alerts.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/host_name.h"

namespace perfbpf {
namespace {

std::vector<AlertRule> compiled_rules(const Config& c) {
    std::vector<AlertRule> rules;
    for (const auto& spec : merge_alert_rules(c.alerting.rules)) {
        auto r = compile_rule(spec);
        // parse_config compiled every configured rule and the defaults are tested: this
        // would be a bug, not a bad config; say so and go on with the others.
        if (!r) {
            spdlog::error("{}", r.error().message);
            continue;
        }
        rules.push_back(std::move(*r));
    }
    return rules;
}

SeriesSample state_sample(const Alert& a, Severity severity, double value) {
    SeriesSample s;
    s.key.metric = kAlertStateMetric;
    s.key.labels = a.object;
    s.key.labels.emplace_back("alert", a.rule);
    s.key.labels.emplace_back("severity", severity_name(severity));
    std::ranges::sort(s.key.labels);
    s.kind = MetricKind::level;
    s.value = value;
    return s;
}

}  // namespace

DaemonAlerts::DaemonAlerts(const Config& config) {
    reconfigure(config);
}

void DaemonAlerts::reconfigure(const Config& config) {
    verdicts_ = std::make_unique<VerdictWindow>(config.thresholds);
    engine_.set_rules(compiled_rules(config));
    AlertReceiverConfig rc;
    rc.alertmanager = config.alerting.alertmanager;
    rc.webhook = config.alerting.webhook;
    rc.exec = config.alerting.exec;
    rc.resend_s = config.alerting.resend_s;
    rc.queue = static_cast<size_t>(config.alerting.queue);
    rc.host = host_name();
    // Unchanged receivers keep their queues (and counts) across a reload.
    if (sender_ && sender_->config() == rc) return;
    sender_.reset();
    sender_ = std::make_unique<AlertSender>(rc);
}

void DaemonAlerts::observe(const Snapshot& snap) {
    last_verdicts_ = verdicts_->push(snap);
    fold_alert_inputs(span_snap_, snap, !span_open_);
    if (!span_open_) span_verdicts_.clear();
    fold_span_verdicts(span_verdicts_, last_verdicts_);
    span_open_ = true;
}

std::vector<SeriesSample> DaemonAlerts::on_span(const SpanSeries& span) {
    const int64_t now_ms = span_snap_.end_unix_ms;
    const std::vector<AlertSample> samples = alert_span_samples(span, span_snap_, span_verdicts_);
    span_open_ = false;
    events_ = engine_.evaluate(now_ms, samples);
    const auto& events = events_;
    // alert_span_samples puts the derived ones after the catalogue's (histograms left out).
    const auto catalogue = static_cast<size_t>(std::ranges::count_if(
        span.series, [](const SeriesSample& s) { return s.kind != MetricKind::histogram; }));
    derived_.clear();
    for (size_t i = catalogue; i < samples.size(); ++i) {
        SeriesSample d;
        d.key = samples[i].key;
        d.value = samples[i].value;
        derived_.push_back(std::move(d));
    }
    const auto firing = engine_.firing();
    std::vector<SeriesSample> out;
    for (const auto& e : events) {
        if (e.change == AlertChange::resolved)
            spdlog::info("{}", alert_log_line(e));
        else
            spdlog::warn("{}", alert_log_line(e));
        if (e.change != AlertChange::fired) out.push_back(state_sample(e.alert, e.previous, 0));
    }
    for (const auto& a : firing) out.push_back(state_sample(a, a.severity, 1));
    sender_->update(events, firing, now_ms);
    return out;
}

// 1 s: SIGTERM must still end the daemon within 2 s when a receiver is down.
void DaemonAlerts::drain() {
    sender_->drain(1000);
}

void DaemonAlerts::fill_status(DaemonStatus& s) const {
    s.firing.clear();
    for (const auto& a : engine_.firing())
        s.firing.push_back({a.rule, a.severity, a.summary, a.starts_ms});
    s.alerts_firing = s.firing.size();
    s.alert_receivers.clear();
    for (const auto& r : sender_->stats())
        s.alert_receivers[r.name] = {r.sent, r.failed, r.dropped, r.queued, r.last_error};
}

}  // namespace perfbpf

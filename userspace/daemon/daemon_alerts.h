// The daemon's alerting: each interval, verdicts over the last snapshots; once a span (a
// second, or the interval when longer: model/series_span.h) the rules over the span's
// series, the span's worst verdicts and derived series; changes to the log and the
// receivers (sinks/alert_receivers.h), and the alerts' state back into the history as
// alert_state series. Rules run once a span because at 0.1 s, evaluating every rule over
// every series each interval was 8 % of the daemon's CPU for values nobody needs ten times a
// second; `for_intervals` thus counts spans.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "config/config.h"
#include "detect/alert_rules.h"
#include "detect/verdict_window.h"
#include "model/daemon_status.h"
#include "sinks/alert_receivers.h"

namespace perfbpf {

class DaemonAlerts {
  public:
    // Rules and receivers from the config (the rules were validated when it was parsed).
    explicit DaemonAlerts(const Config& config);
    // On reload: rules by name keep their state; receivers are started again.
    void reconfigure(const Config& config);

    // Every interval: its verdicts, and what the derived series read, into the span.
    void observe(const Snapshot& snap);
    // Once a span: the rules over it; the alert_state series to write with its last interval.
    std::vector<SeriesSample> on_span(const SpanSeries& span);

    // The last interval's verdicts and the alerts firing now (for the dashboard).
    const std::vector<Verdict>& verdicts() const { return last_verdicts_; }
    std::vector<Alert> firing() const { return engine_.firing(); }
    // The last span's series derived for the rules (mem_used_pct, verdict_severity,
    // oom_kills, ...: derived_alert_metrics), for /metrics.
    std::span<const SeriesSample> derived_series() const { return derived_; }
    // The last span's changes (fired, resolved...), for the incident log.
    std::span<const AlertEvent> events() const { return events_; }

    // At exit: a little time for queued notifications.
    void drain();
    void fill_status(DaemonStatus& s) const;

  private:
    std::unique_ptr<VerdictWindow> verdicts_;
    AlertEngine engine_;
    std::unique_ptr<AlertSender> sender_;
    std::vector<Verdict> last_verdicts_;
    // The span so far: the derived series' inputs and the worst verdict per resource.
    Snapshot span_snap_;
    std::vector<Verdict> span_verdicts_;
    bool span_open_ = false;
    std::vector<SeriesSample> derived_;
    std::vector<AlertEvent> events_;
};

}  // namespace perfbpf

#include "serve/dashboard.h"

#include "serve/dashboard_assets.h"
#include "serve/series_request.h"
#include "sinks/history_alerts.h"
#include "sinks/history_sink.h"
#include "sinks/incident_json.h"
#include "sinks/incident_log.h"

namespace perfbpf {

namespace {

constexpr int64_t kReaderMaxAgeMs = 10'000;
// An alert_state series not written for this long is no longer being written: the daemon
// stopped (as `perfbpf alerts` reads it).
constexpr int64_t kAlertStaleMs = 3'600'000;

}  // namespace

Dashboard::Dashboard(std::string state_dir, Clock now_ms)
    : state_dir_(std::move(state_dir)), now_ms_(std::move(now_ms)) {}

void Dashboard::publish(std::string now_json, int64_t interval_ms) {
    interval_ms_ = std::max<int64_t>(interval_ms, 1);
    feed_->publish(std::move(now_json));
}

void Dashboard::add_routes(HttpRoutes& routes) {
    for (const auto& a : dashboard_assets())
        routes.get[std::string(a.path)] = [&a](const HttpRequest&) {
            return HttpResponse{200, std::string(a.content_type), std::string(a.body)};
        };
    routes.get["/api/now"] = [this](const HttpRequest&) { return now(); };
    routes.get["/api/series"] = [this](const HttpRequest& r) { return series(r); };
    routes.get["/api/alerts"] = [this](const HttpRequest& r) { return alerts(r); };
    routes.get["/api/incidents"] = [this](const HttpRequest& r) { return incidents(r); };
    routes.events["/api/events"] = feed_;
}

HttpResponse Dashboard::now() const {
    auto m = feed_->latest();
    if (m.seq == 0) return http_error(503, "no interval collected yet; try again in a moment");
    return HttpResponse{200, "application/json", std::move(m.data)};
}

Result<History*> Dashboard::reader(int64_t now_ms) {
    if (reader_ && now_ms - reader_opened_ms_ < kReaderMaxAgeMs) return &*reader_;
    reader_.reset();
    auto h = History::open_existing(state_dir_);
    if (!h) return std::unexpected(h.error());
    reader_ = std::move(*h);
    reader_opened_ms_ = now_ms;
    return &*reader_;
}

HttpResponse Dashboard::series(const HttpRequest& req) {
    const int64_t now = now_ms_();
    const int64_t interval = interval_ms_;
    auto r = parse_series_request(req.params, now, interval);
    if (!r) return http_error(400, r.error().message);
    std::lock_guard lock(history_mu_);
    auto h = reader(now);
    if (!h) return http_error(503, h.error().message);
    auto found = (*h)->query(r->selector, r->from_ms, r->to_ms, r->step_ms);
    if (!found) return http_error(500, found.error().message);
    QueryRange range{r->from_ms, r->to_ms, r->step_ms};
    return HttpResponse{200, "application/json",
                        chart_json(*found, range, interval, kChartMaxSeries).dump()};
}

HttpResponse Dashboard::alerts(const HttpRequest& req) {
    const int64_t now = now_ms_();
    auto since = req.params.contains("since") ? req.params.at("since") : std::string("-24h");
    auto from = parse_time_ms(since, now);
    if (!from) return http_error(400, "since: " + from.error().message);
    if (*from >= now) return http_error(400, "since: must be before now");
    std::lock_guard lock(history_mu_);
    auto h = reader(now);
    if (!h) return http_error(503, h.error().message);
    auto selector = parse_selector("alert_state");
    auto found = (*h)->query(*selector, *from, now, 0);
    if (!found) return http_error(500, found.error().message);
    return HttpResponse{200, "application/json",
                        alert_episodes_json(alert_episodes(*found, now, kAlertStaleMs)).dump()};
}

HttpResponse Dashboard::incidents(const HttpRequest& req) const {
    auto range = parse_time_range(req.params, now_ms_());
    if (!range) return http_error(400, range.error().message);
    // The daemon appends while this reads: a line not complete yet is left out by the reader.
    auto lines = read_incident_log(state_dir_);
    if (!lines) return http_error(500, lines.error().message);
    const nlohmann::json folded = fold_incident_records(*lines, range->from_ms);
    return HttpResponse{200, "application/json",
                        incident_annotations_json(folded, range->from_ms, range->to_ms).dump()};
}

}  // namespace perfbpf

// The dashboard's routes: the page and its files from memory (serve/dashboard_assets.h),
// GET /api/now (the latest interval), /api/events (the same, pushed each interval as
// server-sent events), /api/series (the history, for charts), /api/alerts (active and
// recent alerts from the history) and /api/incidents (incidents and auto-tune changes from
// STATE_DIR/incidents.jsonl, drawn as annotations). The daemon publishes each interval; the
// handlers run on the HTTP server's threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "serve/event_feed.h"
#include "serve/http_server.h"
#include "store/history.h"

namespace perfbpf {

// The most series one /api/series answer holds (a selector like cpu_pct{} matches every
// process's); its "matched" says how many there were.
inline constexpr size_t kChartMaxSeries = 64;

class Dashboard {
  public:
    using Clock = std::function<int64_t()>;  // unix ms
    // Reads the history in `state_dir` with a connection of its own (the daemon's History
    // is not shared across threads).
    explicit Dashboard(std::string state_dir, Clock now_ms);

    // The latest interval's /api/now body (sinks/dashboard_json.h), sent to every open
    // event stream too; interval_ms is the collection interval (the finest useful step).
    void publish(std::string now_json, int64_t interval_ms);

    // Adds the dashboard's routes. The Dashboard must outlive the server.
    void add_routes(HttpRoutes& routes);

    HttpResponse now() const;
    HttpResponse series(const HttpRequest& req);
    HttpResponse alerts(const HttpRequest& req);
    HttpResponse incidents(const HttpRequest& req) const;

  private:
    // The reader, opened again when older than kReaderMaxAgeMs: it knows the series and
    // the compaction watermarks as they were when it was opened. Call with history_mu_.
    Result<History*> reader(int64_t now_ms);

    std::string state_dir_;
    Clock now_ms_;
    std::shared_ptr<EventFeed> feed_ = std::make_shared<EventFeed>();
    std::atomic<int64_t> interval_ms_{1000};
    std::mutex history_mu_;
    std::optional<History> reader_;
    int64_t reader_opened_ms_ = 0;
};

}  // namespace perfbpf

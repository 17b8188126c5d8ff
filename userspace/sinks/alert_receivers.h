// Where alerts go: Alertmanager (API v2), a generic JSON webhook, an exec hook, and the log.
// The daemon hands each interval's changes and the alerts firing to an AlertSender; a thread
// of its own delivers them, so a slow or dead receiver never holds up collection. Each
// receiver has a bounded queue: while it is unreachable, notifications wait (retried with
// backoff, 1 s doubling to 30 s); past the bound the oldest are dropped and counted.
#pragma once

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "detect/alert_rules.h"
#include "util/result.h"

namespace perfbpf {

struct AlertReceiverConfig {
    std::string alertmanager;  // base URL, "http://host:9093" ("" : none)
    std::string webhook;       // URL
    std::string exec;          // absolute path
    double resend_s = 30;
    size_t queue = 256;
    std::string host;  // this machine's name: the `instance` label and the generator URL

    bool operator==(const AlertReceiverConfig&) const = default;
};

// The labels an alert carries outside perfbpf: alertname, severity, instance, the object's
// labels, then the rule's.
nlohmann::json alert_labels(const Alert& a, const std::string& host);
// One element of Alertmanager's POST /api/v2/alerts array. A firing alert's endsAt is
// now + 4 resends (it lapses if perfbpf stops re-sending); a resolved one's its end.
nlohmann::json alertmanager_alert(const Alert& a, const std::string& host, int64_t now_ms,
                                  double resend_s);
// The generic webhook's body for one change.
nlohmann::json webhook_body(const AlertEvent& e, const std::string& host);
// The exec hook's environment for one change: PERFBPF_ALERT_{NAME,STATUS,CHANGE,SEVERITY,
// VALUE,THRESHOLD,SUMMARY,STARTS_AT,ENDS_AT,LABELS} (LABELS as JSON).
std::vector<std::string> alert_environment(const AlertEvent& e, const std::string& host);
// RFC 3339 UTC with milliseconds.
std::string rfc3339_ms(int64_t unix_ms);

// One line per change for the daemon's log.
std::string alert_log_line(const AlertEvent& e);

// Delivery counts of one receiver, for the status file.
struct ReceiverStats {
    std::string name;
    uint64_t sent = 0, failed = 0, dropped = 0;
    size_t queued = 0;
    std::string last_error;
};

class AlertSender {
  public:
    // A delivery attempt: ok, or an error naming the receiver, URL and reason.
    using Deliver = std::function<Result<void>(const std::string& payload)>;

    explicit AlertSender(const AlertReceiverConfig& cfg);
    ~AlertSender();
    AlertSender(const AlertSender&) = delete;
    AlertSender& operator=(const AlertSender&) = delete;

    // One interval: its changes and every alert firing after them. Queues a webhook and an
    // exec notification per change, and an Alertmanager post when something changed or
    // resend_s passed since the last one.
    void update(std::span<const AlertEvent> events, std::span<const Alert> firing, int64_t now_ms);

    // Waits up to `timeout_ms` for the queues to empty (at exit).
    void drain(int64_t timeout_ms);

    std::vector<ReceiverStats> stats() const;
    const AlertReceiverConfig& config() const { return cfg_; }

  private:
    struct Receiver {
        ReceiverStats stats;
        Deliver deliver;
        std::deque<std::string> queue;
        int64_t retry_at_ms = 0, backoff_ms = 0;
    };
    void enqueue(Receiver& r, std::string payload);
    void run(std::stop_token stop);

    AlertReceiverConfig cfg_;
    mutable std::mutex mu_;
    std::condition_variable_any cv_;
    std::vector<std::unique_ptr<Receiver>> receivers_;
    Receiver* alertmanager_ = nullptr;
    Receiver* webhook_ = nullptr;
    Receiver* exec_ = nullptr;
    int64_t last_am_post_ms_ = 0;
    std::jthread thread_;
};

// Deliveries by POST of JSON to an http:// URL, and by running a program (exit 0 is
// success; payload: the environment, NUL-separated; killed after 10 s).
AlertSender::Deliver http_post_json(const std::string& url);
AlertSender::Deliver run_program(const std::string& path);

}  // namespace perfbpf

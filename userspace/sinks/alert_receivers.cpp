#include "sinks/alert_receivers.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace perfbpf {
namespace {

constexpr int64_t kFirstBackoffMs = 1000;
constexpr int64_t kMaxBackoffMs = 30'000;

int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string status_of(const AlertEvent& e) {
    return e.change == AlertChange::resolved ? "resolved" : "firing";
}

std::string number_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

std::string rfc3339_ms(int64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(unix_ms % 1000));
    return buf;
}

nlohmann::json alert_labels(const Alert& a, const std::string& host) {
    nlohmann::json l = nlohmann::json::object();
    for (const auto& [k, v] : a.object) l[k] = v;
    for (const auto& [k, v] : a.labels) l[k] = v;
    l["alertname"] = a.rule;
    l["severity"] = severity_name(a.severity);
    l["instance"] = host;
    return l;
}

nlohmann::json alertmanager_alert(const Alert& a, const std::string& host, int64_t now_ms,
                                  double resend_s) {
    const int64_t lapse_ms = now_ms + static_cast<int64_t>(4 * resend_s * 1000);
    return {
        {"labels", alert_labels(a, host)},
        {"annotations", {{"summary", a.summary}, {"value", number_text(a.value)}}},
        {"startsAt", rfc3339_ms(a.starts_ms)},
        {"endsAt", rfc3339_ms(a.ends_ms ? a.ends_ms : lapse_ms)},
        {"generatorURL", "http://" + host + "/perfbpf/alerts?alert=" + a.rule},
    };
}

nlohmann::json webhook_body(const AlertEvent& e, const std::string& host) {
    const Alert& a = e.alert;
    nlohmann::json j = {
        {"status", status_of(e)},
        {"change", alert_change_name(e.change)},
        {"alert", a.rule},
        {"severity", severity_name(a.severity)},
        {"labels", alert_labels(a, host)},
        {"summary", a.summary},
        {"value", a.value},
        {"threshold", a.threshold},
        {"startsAt", rfc3339_ms(a.starts_ms)},
    };
    j["endsAt"] = a.ends_ms ? nlohmann::json(rfc3339_ms(a.ends_ms)) : nlohmann::json(nullptr);
    return j;
}

std::vector<std::string> alert_environment(const AlertEvent& e, const std::string& host) {
    const Alert& a = e.alert;
    return {
        "PERFBPF_ALERT_NAME=" + a.rule,
        "PERFBPF_ALERT_STATUS=" + status_of(e),
        std::string("PERFBPF_ALERT_CHANGE=") + alert_change_name(e.change),
        std::string("PERFBPF_ALERT_SEVERITY=") + severity_name(a.severity),
        "PERFBPF_ALERT_VALUE=" + number_text(a.value),
        "PERFBPF_ALERT_THRESHOLD=" + number_text(a.threshold),
        "PERFBPF_ALERT_SUMMARY=" + a.summary,
        "PERFBPF_ALERT_STARTS_AT=" + rfc3339_ms(a.starts_ms),
        "PERFBPF_ALERT_ENDS_AT=" + (a.ends_ms ? rfc3339_ms(a.ends_ms) : std::string()),
        "PERFBPF_ALERT_LABELS=" + alert_labels(a, host).dump(),
    };
}

std::string alert_log_line(const AlertEvent& e) {
    const Alert& a = e.alert;
    std::string object;
    for (const auto& [k, v] : a.object) object += (object.empty() ? "" : ",") + k + "=" + v;
    return std::string("alert ") + a.rule + (object.empty() ? "" : "{" + object + "}") + " " +
           alert_change_name(e.change) + " " + severity_name(a.severity) + ": " + a.summary;
}

AlertSender::AlertSender(const AlertReceiverConfig& cfg) : cfg_(cfg) {
    auto add = [&](const std::string& name, Deliver d) {
        receivers_.push_back(std::make_unique<Receiver>());
        receivers_.back()->stats.name = name;
        receivers_.back()->deliver = std::move(d);
        return receivers_.back().get();
    };
    if (!cfg_.alertmanager.empty()) {
        std::string base = cfg_.alertmanager;
        while (base.ends_with('/')) base.pop_back();
        alertmanager_ = add("alertmanager", http_post_json(base + "/api/v2/alerts"));
    }
    if (!cfg_.webhook.empty()) webhook_ = add("webhook", http_post_json(cfg_.webhook));
    if (!cfg_.exec.empty()) exec_ = add("exec", run_program(cfg_.exec));
    if (!receivers_.empty()) thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

AlertSender::~AlertSender() {
    if (thread_.joinable()) {
        thread_.request_stop();
        cv_.notify_all();
    }
}

void AlertSender::enqueue(Receiver& r, std::string payload) {
    if (r.queue.size() >= std::max<size_t>(cfg_.queue, 1)) {
        r.queue.pop_front();
        ++r.stats.dropped;
    }
    r.queue.push_back(std::move(payload));
}

void AlertSender::update(std::span<const AlertEvent> events, std::span<const Alert> firing,
                         int64_t now_ms) {
    if (receivers_.empty()) return;
    {
        std::lock_guard lock(mu_);
        for (const auto& e : events) {
            if (webhook_) enqueue(*webhook_, webhook_body(e, cfg_.host).dump());
            if (exec_) {
                std::string env;
                for (const auto& kv : alert_environment(e, cfg_.host)) env += kv + '\0';
                enqueue(*exec_, std::move(env));
            }
        }
        const bool due = now_ms - last_am_post_ms_ >= static_cast<int64_t>(cfg_.resend_s * 1000);
        if (alertmanager_ && (!events.empty() || (due && !firing.empty()))) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& a : firing)
                arr.push_back(alertmanager_alert(a, cfg_.host, now_ms, cfg_.resend_s));
            for (const auto& e : events)
                if (e.change == AlertChange::resolved)
                    arr.push_back(alertmanager_alert(e.alert, cfg_.host, now_ms, cfg_.resend_s));
            enqueue(*alertmanager_, arr.dump());
            last_am_post_ms_ = now_ms;
        }
    }
    cv_.notify_all();
}

void AlertSender::run(std::stop_token stop) {
    std::unique_lock lock(mu_);
    while (!stop.stop_requested()) {
        const int64_t now = now_unix_ms();
        int64_t next_ms = now + 1000;
        for (auto& rp : receivers_) {
            Receiver& r = *rp;
            while (!r.queue.empty() && r.retry_at_ms <= now_unix_ms() && !stop.stop_requested()) {
                std::string payload = r.queue.front();
                lock.unlock();
                Result<void> ok = r.deliver(payload);
                lock.lock();
                if (!ok) {
                    ++r.stats.failed;
                    r.stats.last_error = ok.error().message;
                    r.backoff_ms = std::clamp(r.backoff_ms * 2, kFirstBackoffMs, kMaxBackoffMs);
                    r.retry_at_ms = now_unix_ms() + r.backoff_ms;
                    break;
                }
                if (!r.queue.empty() && r.queue.front() == payload) r.queue.pop_front();
                ++r.stats.sent;
                r.backoff_ms = 0;
                r.retry_at_ms = 0;
            }
            if (!r.queue.empty()) next_ms = std::min(next_ms, std::max(r.retry_at_ms, now));
        }
        cv_.wait_for(lock, stop, std::chrono::milliseconds(std::max<int64_t>(next_ms - now, 1)),
                     [&] {
                         return std::ranges::any_of(receivers_, [&](const auto& r) {
                             return !r->queue.empty() && r->retry_at_ms <= now_unix_ms();
                         });
                     });
    }
}

void AlertSender::drain(int64_t timeout_ms) {
    const int64_t until = now_unix_ms() + timeout_ms;
    while (now_unix_ms() < until) {
        {
            std::lock_guard lock(mu_);
            if (std::ranges::all_of(receivers_, [](const auto& r) { return r->queue.empty(); }))
                return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<ReceiverStats> AlertSender::stats() const {
    std::lock_guard lock(mu_);
    std::vector<ReceiverStats> out;
    for (const auto& r : receivers_) {
        out.push_back(r->stats);
        out.back().queued = r->queue.size();
    }
    return out;
}

}  // namespace perfbpf

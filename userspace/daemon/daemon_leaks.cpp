#include "daemon/daemon_leaks.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "leaks/session.h"
#include "sinks/incident_json.h"

namespace perfbpf {

void DaemonLeaks::consider(const std::string& incident_id, const Incident& incident, int self_pid) {
    if (seconds_ <= 0 || captured_.contains(incident_id)) return;
    // Whatever resource leads the incident (a process that starts leaking also starts
    // using CPU): a process's memory above its band is what a capture is for.
    auto target = memory_growth_target(incident, self_pid);
    if (!target) return;
    auto it =
        std::ranges::find(waiting_, incident_id, &std::pair<std::string, GrowthTarget>::first);
    if (it != waiting_.end()) {
        it->second = std::move(*target);
        return;
    }
    if (run_)
        spdlog::info("incident {}: leak trace of pid {} ({}) waits for the one of pid {}",
                     incident_id, target->pid, target->comm, run_->pid);
    waiting_.emplace_back(incident_id, std::move(*target));
}

void DaemonLeaks::forget(const std::string& incident_id) {
    std::erase_if(waiting_, [&](const auto& w) { return w.first == incident_id; });
}

void DaemonLeaks::start(const std::string& incident_id, const GrowthTarget& target) {
    captured_.insert(incident_id);
    run_ = std::make_unique<Run>();
    Run* r = run_.get();
    r->incident = incident_id;
    r->pid = target.pid;
    r->comm = target.comm;
    r->seconds = seconds_;
    spdlog::info("incident {}: tracing pid {} ({}) in growth mode for {} s", incident_id, r->pid,
                 r->comm, r->seconds);
    r->thread = std::thread([r] {
        LeaksTraceOptions o;
        o.mode = "growth";
        o.pid = r->pid;
        o.duration_ns = static_cast<uint64_t>(std::llround(r->seconds * 1e9));
        r->result = run_leaks_trace(o, r->stop);
        r->done.store(true, std::memory_order_release);
    });
}

std::optional<nlohmann::json> DaemonLeaks::poll(int64_t ts_ms) {
    std::optional<nlohmann::json> out = finished(ts_ms);
    if (!run_ && !waiting_.empty()) {
        auto [id, target] = std::move(waiting_.front());
        waiting_.erase(waiting_.begin());
        start(id, target);
    }
    return out;
}

std::optional<nlohmann::json> DaemonLeaks::finished(int64_t ts_ms) {
    if (!run_ || !run_->done.load(std::memory_order_acquire)) return std::nullopt;
    run_->thread.join();
    const Run& r = *run_;
    auto record = leak_capture_record(ts_ms, r.incident, r.pid, r.comm, r.seconds, *r.result);
    if (*r.result)
        spdlog::info("incident {}: leak trace of pid {} done, {} stacks", r.incident, r.pid,
                     (*r.result)->stacks.size());
    else
        spdlog::warn("incident {}: leak trace of pid {}: {}", r.incident, r.pid,
                     r.result->error().message);
    run_.reset();
    return record;
}

void DaemonLeaks::stop() {
    if (!run_) return;
    run_->stop = true;
    if (run_->thread.joinable()) run_->thread.join();
    run_.reset();
}

}  // namespace perfbpf

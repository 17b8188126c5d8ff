// For a memory incident with one process's memory growing: a growth-mode leak trace of
// that process (leaks/session.h, --mode growth: no library injected, frame-pointer
// stacks of the code paths that add memory) for a bounded time on a thread of its own, one
// at a time, never of perfbpf itself, at most once per incident. An incident that comes
// while another is traced waits its turn as long as it stays open. The daemon polls each
// interval; the finished capture's top stacks become a record of the incident
// (incidents.jsonl "leaks", shown by `perfbpf incidents` and the report).
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "detect/growth_target.h"
#include "detect/incidents.h"
#include "model/leaks.h"
#include "util/result.h"

namespace perfbpf {

// How long a capture traces: long enough for growth mode to tell a leak from a cache that
// fills (its trend needs a few intervals of 1 s), short enough to keep its cost to one
// incident's worth.
inline constexpr double kLeakCaptureSeconds = 30;

class DaemonLeaks {
  public:
    explicit DaemonLeaks(double seconds = kLeakCaptureSeconds) : seconds_(seconds) {}
    ~DaemonLeaks() { stop(); }
    DaemonLeaks(const DaemonLeaks&) = delete;
    DaemonLeaks& operator=(const DaemonLeaks&) = delete;

    // An incident opened or changed: its growing process (the latest one named) waits for a
    // capture unless this incident has had one.
    void consider(const std::string& incident_id, const Incident& incident, int self_pid);
    // The incident closed: a capture of it that has not started never will.
    void forget(const std::string& incident_id);
    // Each interval: the record of a capture that finished since the last call, if any; and
    // the next waiting incident's capture starts when none runs.
    std::optional<nlohmann::json> poll(int64_t ts_ms);
    bool running() const { return run_ != nullptr; }
    // Cuts a running capture short and waits for its thread.
    void stop();

  private:
    struct Run {
        std::string incident, comm;
        int pid = 0;
        double seconds = 0;
        std::atomic<bool> stop{false}, done{false};
        std::optional<Result<LeakReport>> result;  // written by the thread before `done`
        std::thread thread;
    };
    void start(const std::string& incident_id, const GrowthTarget& target);
    std::optional<nlohmann::json> finished(int64_t ts_ms);

    double seconds_;
    std::unique_ptr<Run> run_;
    std::set<std::string> captured_;
    std::vector<std::pair<std::string, GrowthTarget>> waiting_;  // oldest first
};

}  // namespace perfbpf

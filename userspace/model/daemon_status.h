// What the daemon reports about itself: written to its state dir every interval, shown by
// `perfbpf daemon --status`, and (later) exposed as self-metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/severity.h"
#include "model/snapshot.h"

namespace perfbpf {

// alert_state{alert, severity, <object labels>}: 1 every interval an alert fires at that
// severity, 0 the interval it resolves or leaves that severity.
inline constexpr const char* kAlertStateMetric = "alert_state";

struct DaemonStatus {
    int pid = 0;
    int64_t started_unix_ms = 0;
    int64_t updated_unix_ms = 0;
    std::string state_dir;
    std::string config_path;  // "" when running on defaults
    double interval_s = 0;    // in force (after the governor's factor)
    uint64_t intervals = 0;   // collected since start
    uint64_t series = 0;      // written in the last interval
    // history
    uint64_t history_bytes = 0;
    uint64_t history_samples = 0;            // values written since start
    uint64_t history_dropped_intervals = 0;  // not written (disk full, write errors)
    bool history_paused = false;
    std::string history_error;  // why writes are paused
    // governor
    int governor_level = 0;
    std::string governor_shed;  // what is shed ("" at level 0)
    double budget_pct = 0;
    double cost_own_cpu_pct = -1;  // last measurement; -1 before the first
    double cost_bpf_pct = -1;
    uint64_t own_rss_bytes = 0;  // resident memory of the daemon; 0 before the first interval
    // probes, with families waiting for a retry
    std::vector<ProbeStatus> probes;
    std::map<std::string, std::string> probe_retries;  // family -> "next try in 30 s"
    std::map<std::string, uint64_t> drops;             // since start, by kind
    // alerting: alerts firing now, and per receiver what was delivered since start
    struct AlertReceiver {
        uint64_t sent = 0, failed = 0, dropped = 0;
        uint64_t queued = 0;
        std::string last_error;
    };
    uint64_t alerts_firing = 0;
    // The alerts firing now, for `daemon --status` and top's header.
    struct FiringAlert {
        std::string alert;
        Severity severity = Severity::warning;
        std::string summary;  // names the object and the numbers
        int64_t since_unix_ms = 0;
    };
    std::vector<FiringAlert> firing;
    std::map<std::string, AlertReceiver> alert_receivers;
    // remote write (sinks/remote_write.h), when [remote_write] url is set; samples since start
    struct RemoteWrite {
        bool enabled = false;
        uint64_t sent_samples = 0;
        uint64_t failed_requests = 0;     // posts that failed, retried or not
        uint64_t dropped_queue_full = 0;  // the oldest, dropped when the queue was full
        uint64_t dropped_rejected = 0;    // in batches the receiver refused (HTTP 4xx)
        uint64_t queued_samples = 0;      // waiting now, the batch being sent included
        std::string last_error;

        bool operator==(const RemoteWrite&) const = default;
    };
    RemoteWrite remote_write;
};

}  // namespace perfbpf

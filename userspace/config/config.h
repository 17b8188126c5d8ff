// One typed configuration, loaded from TOML and validated; CLI flags override it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "detect/alert_rules.h"
#include "detect/thresholds.h"
#include "util/result.h"

namespace perfbpf {

// [daemon]: what the always-on collector keeps and what it may cost.
struct DaemonConfig {
    double interval_s = 1.0;         // interval, seconds (0.1 to 3600)
    int top_processes = 50;          // processes kept as series per ranking (CPU, I/O, net, RSS)
    std::vector<std::string> watch;  // comms always kept as series
    double min_process_age_s = 30;   // younger processes are summed into `other`
    double cpu_budget_pct = 1.0;     // own CPU + BPF run time, % of one CPU
    double governor_period_s = 60;   // how often the cost is measured
    // HTTP endpoint for /metrics, "ADDR:PORT" (an IP literal); "" serves nothing.
    std::string listen = "127.0.0.1:9637";
    std::string bearer_token_file;  // "": no token required; else an absolute path

    bool operator==(const DaemonConfig&) const = default;
};

// [history]: retention per tier, by age and by disk budget, whichever comes first.
struct HistoryConfig {
    double raw_days = 14;
    double minute_days = 90;
    double hour_days = 730;
    double max_disk_mib = 2048;

    bool operator==(const HistoryConfig&) const = default;
};

// [alerting]: where alerts go (empty: not there; the log always gets them), and [[alert]]
// rules on top of the built-in ones (detect/alert_rules.h).
struct AlertingConfig {
    std::string alertmanager;          // base URL of an Alertmanager (API v2), "http://host:9093"
    std::string webhook;               // URL a JSON body per change is POSTed to
    std::string exec;                  // absolute path run per change, the alert in its environment
    double resend_s = 30;              // firing alerts re-sent to Alertmanager this often
    int queue = 256;                   // undelivered notifications kept per receiver, then dropped
    std::vector<AlertRuleSpec> rules;  // [[alert]] tables, in file order

    bool operator==(const AlertingConfig&) const = default;
};

// [remote_write]: every interval's samples, as /metrics shows them, posted to a Prometheus
// remote-write receiver (sinks/remote_write.h).
struct RemoteWriteConfig {
    std::string url;                // "http://host:port/api/v1/write"; "": off
    int batch_samples = 2000;       // samples per post at most
    int queue_samples = 100000;     // waiting at most; past that the oldest are dropped
    double timeout_s = 10;          // connect, send, receive, each
    std::string bearer_token_file;  // "": no Authorization header; else an absolute path

    bool operator==(const RemoteWriteConfig&) const = default;
};

// [anomaly]: the daemon's anomaly detection (detect/anomaly.h, docs/anomaly.md), its
// incidents in STATE_DIR/incidents.jsonl and the evidence gathered when one opens.
struct AnomalyConfig {
    bool enabled = true;
    double score = 6;            // out of band above this many units of spread + floor
    int window = 600;            // intervals in each series' baseline
    int clear_intervals = 30;    // in band this many in a row: the anomaly is over
    double seed_days = 7;        // minute-tier history read at start for seasonality (0: none)
    double seed_budget_s = 10;   // at most this long reading it; the rest starts unseeded
    int evidence_intervals = 5;  // intervals of top consumers gathered per incident or alert
    double max_file_mib = 16;    // incidents.jsonl rotates to incidents.jsonl.1 past this

    bool operator==(const AnomalyConfig&) const = default;
};

// [tune]: the daemon's automatic tuning (tune/engine.h with every guardrail of `tune --auto`),
// consulted only for the objects of alerts and incidents that name a tuner.
struct TuneConfig {
    bool auto_tune = false;  // off by default: the daemon changes no knob

    bool operator==(const TuneConfig&) const = default;
};

struct Config {
    double interval_s = 1.0;  // [top] interval
    int sample_hz = 49;       // [probes] sample_hz: cpu-clock samples per CPU per second
    std::string state_dir = "/var/lib/perfbpf";  // [general] state_dir
    Thresholds thresholds;                       // [thresholds] <field> = value
    DaemonConfig daemon;
    HistoryConfig history;
    AlertingConfig alerting;
    RemoteWriteConfig remote_write;
    AnomalyConfig anomaly;
    TuneConfig tune;

    bool operator==(const Config&) const = default;
};

// The file perfbpf reads when --config is not given (absent is fine).
inline constexpr const char* kDefaultConfigPath = "/etc/perfbpf/perfbpf.toml";

// Parses TOML text. Unknown keys, wrong types and out-of-range values are errors naming
// the key and the allowed range. `origin` names the file in messages.
Result<Config> parse_config(const std::string& toml_text, const std::string& origin);

// Every key parse_config accepts, as "section.key" (deploy/perfbpf.toml lists them all).
std::vector<std::string> known_config_keys();
// A config larger than this is refused, not read (--config /dev/zero read forever).
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// Loads `path`; when `path` is empty, loads kDefaultConfigPath if it exists, else defaults.
Result<Config> load_config(const std::string& path);

}  // namespace perfbpf

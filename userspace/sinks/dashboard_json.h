// The dashboard's view of one interval (GET /api/now and each /api/events message): host
// numbers per second, the top processes, cgroups and devices, verdicts and firing alerts.
// Compact on purpose: it goes to every open page every interval, so it is bounded
// (kDashboardTop rows a table, strings cut) to stay under 10 KB.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <span>

#include "detect/alert_rules.h"
#include "detect/verdict.h"
#include "model/snapshot.h"

namespace perfbpf {

inline constexpr size_t kDashboardTop = 8;
inline constexpr size_t kDashboardTextMax = 64;       // names: cut at the front
inline constexpr size_t kDashboardSentenceMax = 160;  // evidence, summaries: at the end
inline constexpr size_t kDashboardAlertsMax = 6;

// {"ts", "interval_s", "host": {"ncpus", "cpu": {busy, user, system, iowait, steal},
//  "mem": {total, available, free, swap_used}, "load": [1, 5, 15], "psi": {cpu, memory, io}
//  (some, % of the interval; null unavailable), "disk": {read_bps, write_bps, lat_p99_us,
//  util_pct}, "net": {tx_bps, rx_bps, retrans_ps, drops_ps}},
//  "processes": [{pid, start, comm, cgroup, cpu, rss, io_bps, runq_p99_us}],
//  "cgroups": [{cgroup, cpu, rss, io_bps, psi_cpu, psi_mem, psi_io}],
//  "devices": [{device, read_bps, write_bps, lat_p99_us, util}],
//  "verdicts": [{resource, severity, evidence, subject}],
//  "alerts": [{alert, severity, labels, value, threshold, summary, since}], "more_alerts"}
// Rows are the top by CPU (processes, cgroups) and by bytes moved (devices).
nlohmann::json dashboard_now_json(const Snapshot& s, std::span<const Verdict> verdicts,
                                  std::span<const Alert> firing);

}  // namespace perfbpf

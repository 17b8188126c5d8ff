// Every threshold a verdict uses, in one place, with the reason for its default.
#pragma once

#include <string>

#include "util/result.h"

namespace perfbpf {

struct Thresholds {
    // CPU: run-queue latency p99 beyond a few scheduler periods means runnable work
    // waits (CFS's default latency target is 6 ms; EEVDF's base slice 3 ms).
    double cpu_runq_p99_warn_us = 5'000;
    double cpu_runq_p99_crit_us = 25'000;
    // PSI some: share of time at least one task stalled on CPU.
    double cpu_psi_some_warn_pct = 10;
    double cpu_psi_some_crit_pct = 40;
    // Average tasks waiting per CPU (Little's law over run-queue wait time).
    double cpu_waiting_per_cpu_warn = 0.5;
    double cpu_waiting_per_cpu_crit = 2.0;

    // Disk: utilisation (time with I/O in flight) and latency.
    double disk_util_warn_pct = 70;
    double disk_util_crit_pct = 95;
    double disk_p99_warn_us = 20'000;
    double disk_p99_crit_us = 200'000;
    // A device's p99 counts only over this many requests in the window (below it the p99 is
    // one or two slow requests) and when the device is at least this busy or io PSI is at
    // its warning level: a slow flush on an idle disk delays nobody. (Not [thresholds] keys
    // yet: config/ maps the keys.)
    double disk_p99_min_ios = 50;
    double disk_p99_min_util_pct = 10;
    double io_psi_some_warn_pct = 10;
    double io_psi_some_crit_pct = 40;

    // Memory: PSI, headroom and reclaim that costs I/O.
    double mem_psi_some_warn_pct = 5;
    double mem_psi_some_crit_pct = 25;
    double mem_available_warn_pct = 10;
    double mem_available_crit_pct = 3;
    double major_faults_warn_per_s = 200;
    double swap_out_warn_pages_per_s = 100;

    // Network: retransmits and drops per second.
    double retrans_warn_per_s = 5;
    double retrans_crit_per_s = 100;
    double drops_warn_per_s = 50;
    double drops_crit_per_s = 1000;

    bool operator==(const Thresholds&) const = default;
};

// Checks that each warning threshold is on the safe side of its critical one; the
// message names both keys (ranges of single values are checked where they are parsed).
Result<void> validate(const Thresholds& t);

}  // namespace perfbpf

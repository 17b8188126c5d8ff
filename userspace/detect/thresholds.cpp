#include "detect/thresholds.h"

namespace perfbpf {
namespace {

Result<void> ordered(const char* name, double warn, double crit) {
    if (warn < 0 || crit < 0) return fail(std::string(name) + ": thresholds must be >= 0");
    if (warn > crit)
        return fail(std::string(name) + ": warning threshold " + std::to_string(warn) +
                    " is above the critical one " + std::to_string(crit));
    return {};
}

Result<void> percent(const char* name, double v) {
    if (v < 0 || v > 100)
        return fail(std::string(name) + ": must be within 0..100, got " + std::to_string(v));
    return {};
}

}  // namespace

Result<void> validate(const Thresholds& t) {
    for (auto r :
         {ordered("cpu.runq_p99_us", t.cpu_runq_p99_warn_us, t.cpu_runq_p99_crit_us),
          ordered("cpu.psi_some_pct", t.cpu_psi_some_warn_pct, t.cpu_psi_some_crit_pct),
          ordered("cpu.waiting_per_cpu", t.cpu_waiting_per_cpu_warn, t.cpu_waiting_per_cpu_crit),
          ordered("disk.util_pct", t.disk_util_warn_pct, t.disk_util_crit_pct),
          ordered("disk.p99_us", t.disk_p99_warn_us, t.disk_p99_crit_us),
          ordered("io.psi_some_pct", t.io_psi_some_warn_pct, t.io_psi_some_crit_pct),
          ordered("memory.psi_some_pct", t.mem_psi_some_warn_pct, t.mem_psi_some_crit_pct),
          ordered("network.retrans_per_s", t.retrans_warn_per_s, t.retrans_crit_per_s),
          ordered("network.drops_per_s", t.drops_warn_per_s, t.drops_crit_per_s),
          percent("cpu.psi_some_crit_pct", t.cpu_psi_some_crit_pct),
          percent("disk.util_crit_pct", t.disk_util_crit_pct),
          percent("memory.psi_some_crit_pct", t.mem_psi_some_crit_pct),
          percent("memory.available_warn_pct", t.mem_available_warn_pct)}) {
        if (!r) return r;
    }
    if (t.mem_available_crit_pct > t.mem_available_warn_pct)
        return fail("memory.available_pct: critical threshold must be below the warning one");
    return {};
}

}  // namespace perfbpf

#include "detect/thresholds.h"

namespace perfbpf {
namespace {

Result<void> ordered(const char* warn_key, const char* crit_key, double warn, double crit) {
    if (warn > crit)
        return fail(std::string(warn_key) + " (" + std::to_string(warn) + ") must not exceed " +
                    crit_key + " (" + std::to_string(crit) + ")");
    return {};
}

}  // namespace

Result<void> validate(const Thresholds& t) {
#define PERFBPF_ORDERED(w, c) ordered(#w, #c, t.w, t.c)
    for (auto r : {PERFBPF_ORDERED(cpu_runq_p99_warn_us, cpu_runq_p99_crit_us),
                   PERFBPF_ORDERED(cpu_psi_some_warn_pct, cpu_psi_some_crit_pct),
                   PERFBPF_ORDERED(cpu_waiting_per_cpu_warn, cpu_waiting_per_cpu_crit),
                   PERFBPF_ORDERED(disk_util_warn_pct, disk_util_crit_pct),
                   PERFBPF_ORDERED(disk_p99_warn_us, disk_p99_crit_us),
                   PERFBPF_ORDERED(io_psi_some_warn_pct, io_psi_some_crit_pct),
                   PERFBPF_ORDERED(mem_psi_some_warn_pct, mem_psi_some_crit_pct),
                   PERFBPF_ORDERED(mem_available_crit_pct, mem_available_warn_pct),
                   PERFBPF_ORDERED(retrans_warn_per_s, retrans_crit_per_s),
                   PERFBPF_ORDERED(drops_warn_per_s, drops_crit_per_s)}) {
        if (!r) return r;
    }
#undef PERFBPF_ORDERED
    return {};
}

}  // namespace perfbpf

#include "daemon/self_cost.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "probes/bpf_object.h"
#include "util/files.h"

namespace perfbpf {

uint64_t own_rss_bytes() {
    // statm: size resident shared ... in pages; a read of a few bytes, every interval.
    auto text = read_regular_file("/proc/self/statm", 4096);
    if (!text) return 0;
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(text->c_str(), "%llu %llu", &size, &resident) != 2) return 0;
    return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t own_cpu_time_ns() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ns = [](const timeval& tv) {
        return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000ULL +
               static_cast<uint64_t>(tv.tv_usec) * 1000ULL;
    };
    return ns(ru.ru_utime) + ns(ru.ru_stime);
}

SelfCost::SelfCost(uint64_t period_ns, std::function<uint64_t()> bpf_run_time_ns)
    : period_ns_(period_ns), bpf_run_time_ns_(std::move(bpf_run_time_ns)) {}

// A tenth of the period, at least 1 s: long enough to average over bursts of work, short
// enough that the statistics' own cost stays out of the other nine tenths.
uint64_t SelfCost::window_ns() const {
    return std::max<uint64_t>(period_ns_ / 10, 1'000'000'000ULL);
}

std::optional<CostReading> SelfCost::tick(uint64_t now_ns) {
    if (period_start_ns_ == 0) {
        period_start_ns_ = now_ns;
        cpu_start_ns_ = own_cpu_time_ns();
        return std::nullopt;
    }
    const uint64_t elapsed = now_ns - period_start_ns_;
    if (!stats_ && elapsed + window_ns() >= period_ns_) {
        if (auto fd = enable_run_stats()) {
            stats_ = std::move(*fd);
            stats_start_ns_ = now_ns;
            bpf_start_ns_ = bpf_run_time_ns_();
        }
    }
    if (elapsed < period_ns_) return std::nullopt;

    CostReading r;
    const uint64_t cpu = own_cpu_time_ns();
    r.own_cpu_pct = 100.0 * static_cast<double>(cpu - cpu_start_ns_) / static_cast<double>(elapsed);
    if (stats_ && now_ns > stats_start_ns_) {
        const uint64_t bpf = bpf_run_time_ns_();
        r.bpf_pct = 100.0 * static_cast<double>(bpf - std::min(bpf, bpf_start_ns_)) /
                    static_cast<double>(now_ns - stats_start_ns_);
        r.bpf_measured = true;
    }
    stats_.reset();
    period_start_ns_ = now_ns;
    cpu_start_ns_ = cpu;
    return r;
}

}  // namespace perfbpf

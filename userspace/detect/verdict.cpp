#include "detect/verdict.h"

#include <algorithm>
#include <map>

#include "util/format.h"

namespace perfbpf {

namespace {

Severity grade(double v, double warn, double crit) {
    if (v >= crit) return Severity::critical;
    if (v >= warn) return Severity::warning;
    return Severity::ok;
}

// The thresholds a verdict crossed, each as its numbers ("p99 33 ms >= 20 ms"), so a reader
// sees which rule fired and by how much.
class Rules {
  public:
    // Grades `value` against warn/crit; `show` formats a value as the rule prints it.
    template <class Show>
    void check(const std::string& what, double value, double warn, double crit, Show show) {
        Severity s = grade(value, warn, crit);
        if (s == Severity::ok) return;
        add(s, what + " " + show(value) + " >= " + show(s == Severity::critical ? crit : warn));
    }
    void add(Severity s, std::string text) {
        if (s < severity_) return;
        if (s > severity_) crossed_.clear();
        severity_ = s;
        crossed_.push_back(std::move(text));
    }
    Severity severity() const { return severity_; }
    // "p99 33 ms >= 20 ms, util 98 % >= 95 %; " before the evidence ("" when ok).
    std::string prefix() const {
        std::string out;
        for (const auto& c : crossed_) out += (out.empty() ? "" : ", ") + c;
        return out.empty() ? out : out + "; ";
    }

  private:
    Severity severity_ = Severity::ok;
    std::vector<std::string> crossed_;
};

std::string pct_text(double v) {
    return format_fixed(v, 0) + " %";
}

std::string per_s_text(double v) {
    return format_fixed(v, 1) + "/s";
}

struct WindowTotals {
    double seconds = 0;
    Log2Histogram runq;
    uint64_t runq_wait_ns = 0;
    int ncpus = 1;
    uint64_t retrans = 0, drops = 0, major_faults = 0, swap_out = 0;
    std::map<int, std::pair<std::string, uint64_t>> waiters;  // pid -> comm, wait
    std::map<std::string, DeviceSample> devices;              // summed
    std::map<std::string, uint64_t> drop_reasons;
    std::map<int, std::pair<std::string, uint64_t>> retransmitters;
};

WindowTotals totals(std::span<const Snapshot> w) {
    WindowTotals t;
    for (const auto& s : w) {
        t.seconds += static_cast<double>(s.interval_ns) / 1e9;
        t.runq.merge(s.system.runq_hist);
        for (const auto& c : s.cpus) t.runq_wait_ns += c.runq_wait_ns;
        t.ncpus = std::max(1, s.system.ncpus);
        t.retrans += s.system.tcp_retransmits;
        t.drops += s.system.packet_drops_total;
        t.major_faults += s.system.major_faults;
        t.swap_out += s.system.pages_swapped_out;
        for (const auto& [reason, n] : s.system.packet_drops) t.drop_reasons[reason] += n;
        for (const auto& p : s.processes) {
            if (p.runq_wait_ns) {
                auto& e = t.waiters[p.pid];
                e.first = p.comm;
                e.second += p.runq_wait_ns;
            }
            if (p.tcp_retransmits) {
                auto& e = t.retransmitters[p.pid];
                e.first = p.comm;
                e.second += p.tcp_retransmits;
            }
        }
        for (const auto& d : s.devices) {
            auto& acc = t.devices[d.name];
            acc.name = d.name;
            acc.read_ios += d.read_ios;
            acc.write_ios += d.write_ios;
            acc.read_bytes += d.read_bytes;
            acc.write_bytes += d.write_bytes;
            acc.lat_hist.merge(d.lat_hist);
            acc.util_pct += d.util_pct * static_cast<double>(s.interval_ns) / 1e9;
            acc.avg_queue_depth += d.avg_queue_depth * static_cast<double>(s.interval_ns) / 1e9;
        }
    }
    if (t.seconds > 0) {
        for (auto& [_, d] : t.devices) {
            d.util_pct /= t.seconds;
            d.avg_queue_depth /= t.seconds;
        }
    }
    return t;
}

template <class M>
auto top_entry(const M& m) {
    return std::max_element(m.begin(), m.end(), [](const auto& a, const auto& b) {
        return a.second.second < b.second.second;
    });
}

Verdict cpu_verdict(const WindowTotals& t, const Snapshot& last, const Thresholds& th) {
    Verdict v{"cpu", Severity::ok, "", ""};
    double p99 = t.runq.percentile_us(0.99);
    double waiting = t.seconds > 0 ? static_cast<double>(t.runq_wait_ns) / 1e9 / t.seconds : 0;
    double per_cpu = waiting / t.ncpus;
    double psi = last.system.psi_cpu.available ? last.system.psi_cpu.some.avg10 : 0;
    Rules rules;
    rules.check("runq p99", p99, th.cpu_runq_p99_warn_us, th.cpu_runq_p99_crit_us, format_us);
    rules.check("PSI cpu some", psi, th.cpu_psi_some_warn_pct, th.cpu_psi_some_crit_pct, pct_text);
    rules.check("tasks waiting per CPU", per_cpu, th.cpu_waiting_per_cpu_warn,
                th.cpu_waiting_per_cpu_crit, [](double x) { return format_fixed(x, 2); });
    v.severity = rules.severity();
    v.evidence = rules.prefix() + "runq p99 " + format_us(p99) + " on " + std::to_string(t.ncpus) +
                 " CPUs, " + format_fixed(waiting, 2) + " tasks waiting on average, busy " +
                 format_fixed(last.system.cpu_busy_pct, 0) + " %";
    if (last.system.psi_cpu.available)
        v.evidence += ", PSI cpu some " + format_fixed(psi, 0) + " %";
    if (!t.waiters.empty()) {
        auto top = top_entry(t.waiters);
        v.subject = "pid " + std::to_string(top->first) + " " + top->second.first;
        v.evidence += "; top waiter: " + v.subject + " (waited " +
                      format_us(static_cast<double>(top->second.second) / 1000.0) + ")";
    }
    return v;
}

// A device's latency speaks for it only over enough requests (a p99 of four I/Os is its
// slowest one) and when the device is busy or tasks stall on I/O: a slow flush on an idle
// disk queues nobody.
bool latency_counts(const DeviceSample& d, uint64_t ios, double psi, const Thresholds& th) {
    return ios >= th.disk_p99_min_ios &&
           (d.util_pct >= th.disk_p99_min_util_pct || psi >= th.io_psi_some_warn_pct);
}

Verdict disk_verdict(const WindowTotals& t, const Snapshot& last, const Thresholds& th) {
    Verdict v{"disk", Severity::ok, "", ""};
    const double psi = last.system.psi_io.available ? last.system.psi_io.some.avg10 : 0;
    const DeviceSample* worst_dev = nullptr;
    Rules worst_rules;
    double worst_score = -1;
    for (const auto& [name, d] : t.devices) {
        const double p99 = d.lat_hist.percentile_us(0.99);
        const uint64_t ios = d.read_ios + d.write_ios;
        Rules rules;
        rules.check(name + " util", d.util_pct, th.disk_util_warn_pct, th.disk_util_crit_pct,
                    pct_text);
        if (latency_counts(d, ios, psi, th))
            rules.check(name + " p99", p99, th.disk_p99_warn_us, th.disk_p99_crit_us, format_us);
        double score = static_cast<double>(rules.severity()) * 1e9 + d.util_pct * 1e3 + p99 / 1e3;
        if (score > worst_score) {
            worst_score = score;
            worst_rules = rules;
            worst_dev = &d;
        }
    }
    Rules rules = worst_rules;
    rules.check("PSI io some", psi, th.io_psi_some_warn_pct, th.io_psi_some_crit_pct, pct_text);
    v.severity = rules.severity();
    if (worst_dev) {
        const uint64_t ios = worst_dev->read_ios + worst_dev->write_ios;
        double iops = t.seconds > 0 ? static_cast<double>(ios) / t.seconds : 0;
        v.subject = worst_dev->name;
        v.evidence = rules.prefix() + worst_dev->name + ": util " +
                     format_fixed(worst_dev->util_pct, 0) + " %, queue " +
                     format_fixed(worst_dev->avg_queue_depth, 1) + ", p99 " +
                     format_us(worst_dev->lat_hist.percentile_us(0.99)) + ", " +
                     format_count(iops) + " IOPS";
        if (!latency_counts(*worst_dev, ios, psi, th))
            v.evidence += " (p99 not judged: " + std::to_string(ios) + " I/Os, needs " +
                          format_fixed(th.disk_p99_min_ios, 0) +
                          " and util >= " + pct_text(th.disk_p99_min_util_pct) + " or io pressure)";
    } else {
        v.evidence = rules.prefix() + "no block I/O seen";
    }
    if (last.system.psi_io.available) v.evidence += ", PSI io some " + format_fixed(psi, 0) + " %";
    return v;
}

Verdict memory_verdict(const WindowTotals& t, const Snapshot& last, const Thresholds& th) {
    Verdict v{"memory", Severity::ok, "", ""};
    const auto& sys = last.system;
    double avail_pct = sys.mem_total_bytes ? 100.0 * static_cast<double>(sys.mem_available_bytes) /
                                                 sys.mem_total_bytes
                                           : 100.0;
    double psi = sys.psi_memory.available ? sys.psi_memory.some.avg10 : 0;
    double majf = t.seconds > 0 ? t.major_faults / t.seconds : 0;
    double swap = t.seconds > 0 ? t.swap_out / t.seconds : 0;
    Rules rules;
    rules.check("PSI memory some", psi, th.mem_psi_some_warn_pct, th.mem_psi_some_crit_pct,
                pct_text);
    // Less available is worse.
    if (avail_pct <= th.mem_available_crit_pct)
        rules.add(Severity::critical, "available " + pct_text(avail_pct) +
                                          " <= " + pct_text(th.mem_available_crit_pct));
    else if (avail_pct <= th.mem_available_warn_pct)
        rules.add(Severity::warning, "available " + pct_text(avail_pct) +
                                         " <= " + pct_text(th.mem_available_warn_pct));
    if (majf >= th.major_faults_warn_per_s)
        rules.add(Severity::warning, "major faults " + per_s_text(majf) +
                                         " >= " + per_s_text(th.major_faults_warn_per_s));
    if (swap >= th.swap_out_warn_pages_per_s)
        rules.add(Severity::warning, "pages swapped out " + per_s_text(swap) +
                                         " >= " + per_s_text(th.swap_out_warn_pages_per_s));
    if (!last.oom_kills.empty()) rules.add(Severity::critical, "an OOM kill");
    v.severity = rules.severity();
    v.evidence = rules.prefix() + "available " + format_fixed(avail_pct, 0) + " % of " +
                 format_bytes(static_cast<double>(sys.mem_total_bytes)) + ", " +
                 format_fixed(majf, 0) + " major faults/s, " + format_fixed(swap, 0) +
                 " pages swapped out/s";
    if (sys.psi_memory.available) v.evidence += ", PSI memory some " + format_fixed(psi, 0) + " %";
    if (!last.oom_kills.empty())
        v.evidence += "; OOM killed pid " + std::to_string(last.oom_kills.back().pid) + " " +
                      last.oom_kills.back().comm;
    // The process growing fastest is the usual suspect.
    const ProcessSample* grower = nullptr;
    for (const auto& p : last.processes)
        if (p.rss_growth_bytes > 0 && (!grower || p.rss_growth_bytes > grower->rss_growth_bytes))
            grower = &p;
    if (grower) {
        v.subject = "pid " + std::to_string(grower->pid) + " " + grower->comm;
        v.evidence += "; fastest RSS growth: " + v.subject + " +" +
                      format_bytes(static_cast<double>(grower->rss_growth_bytes));
    }
    return v;
}

Verdict network_verdict(const WindowTotals& t, const Thresholds& th) {
    Verdict v{"network", Severity::ok, "", ""};
    double retrans = t.seconds > 0 ? t.retrans / t.seconds : 0;
    double drops = t.seconds > 0 ? t.drops / t.seconds : 0;
    Rules rules;
    rules.check("TCP retransmits", retrans, th.retrans_warn_per_s, th.retrans_crit_per_s,
                per_s_text);
    rules.check("packet drops", drops, th.drops_warn_per_s, th.drops_crit_per_s, per_s_text);
    v.severity = rules.severity();
    v.evidence = rules.prefix() + format_fixed(retrans, 1) + " TCP retransmits/s, " +
                 format_fixed(drops, 1) + " packet drops/s";
    if (!t.drop_reasons.empty()) {
        auto top =
            std::max_element(t.drop_reasons.begin(), t.drop_reasons.end(),
                             [](const auto& a, const auto& b) { return a.second < b.second; });
        v.evidence += " (mostly " + top->first + ")";
    }
    if (!t.retransmitters.empty()) {
        auto top = top_entry(t.retransmitters);
        v.subject = "pid " + std::to_string(top->first) + " " + top->second.first;
        v.evidence += "; most retransmits: " + v.subject;
    }
    return v;
}

}  // namespace

std::vector<Verdict> assess(std::span<const Snapshot> window, const Thresholds& th) {
    if (window.empty()) return {};
    WindowTotals t = totals(window);
    const Snapshot& last = window.back();
    std::vector<Verdict> out{cpu_verdict(t, last, th), disk_verdict(t, last, th),
                             memory_verdict(t, last, th), network_verdict(t, th)};
    for (auto& v : out) v.window_s = t.seconds;
    std::stable_sort(out.begin(), out.end(),
                     [](const Verdict& a, const Verdict& b) { return a.severity > b.severity; });
    return out;
}

}  // namespace perfbpf

#include "sinks/text_sink.h"

#include <cstdio>
#include <ctime>

#include "util/format.h"

namespace perfbpf {
namespace {

std::string rate(double bytes, double seconds) {
    return seconds > 0 ? format_bytes(bytes / seconds) + "/s" : "-";
}

}  // namespace

std::string render_text(const Snapshot& s, const std::vector<Verdict>& verdicts, size_t max_rows) {
    const double secs = static_cast<double>(s.interval_ns) / 1e9;
    std::string out;
    char line[512];
    std::time_t t = static_cast<std::time_t>(s.end_unix_ms / 1000);
    char when[32];
    std::strftime(when, sizeof(when), "%H:%M:%S", std::localtime(&t));
    std::snprintf(line, sizeof(line),
                  "perfbpf %s  interval %.2fs  load %.2f %.2f %.2f  cpu %.0f%% busy  mem %s avail  "
                  "drops %llu\n",
                  when, secs, s.system.loadavg[0], s.system.loadavg[1], s.system.loadavg[2],
                  s.system.cpu_busy_pct,
                  format_bytes(static_cast<double>(s.system.mem_available_bytes)).c_str(),
                  static_cast<unsigned long long>(s.drops.total));
    out += line;
    for (const auto& v : verdicts) {
        std::snprintf(line, sizeof(line), "  %-8s %-8s %s\n", v.resource.c_str(),
                      severity_name(v.severity), v.evidence.c_str());
        out += line;
    }
    std::snprintf(line, sizeof(line), "%7s %-16s %6s %9s %9s %10s %10s %10s %10s %5s %9s %9s\n",
                  "PID", "COMM", "CPU%", "RUNQ99", "OFFCPU", "READ", "WRITE", "NET_TX", "NET_RX",
                  "RETR", "RSS", "RSS+");
    out += line;
    size_t rows = 0;
    for (const auto& p : s.processes) {
        if (rows++ >= max_rows) break;
        std::snprintf(line, sizeof(line),
                      "%7d %-16.16s %6.1f %9s %9s %10s %10s %10s %10s %5llu %9s %9s%s\n", p.pid,
                      p.comm.c_str(), p.cpu_pct, format_us(p.runq_lat_p99_us).c_str(),
                      format_us(static_cast<double>(p.offcpu_ns) / 1000).c_str(),
                      rate(static_cast<double>(p.read_bytes), secs).c_str(),
                      rate(static_cast<double>(p.write_bytes), secs).c_str(),
                      rate(static_cast<double>(p.tcp_tx_bytes), secs).c_str(),
                      rate(static_cast<double>(p.tcp_rx_bytes), secs).c_str(),
                      static_cast<unsigned long long>(p.tcp_retransmits),
                      format_bytes(static_cast<double>(p.rss_bytes)).c_str(),
                      format_bytes(static_cast<double>(p.rss_growth_bytes)).c_str(),
                      p.exited ? " (exited)" : "");
        out += line;
    }
    if (!s.devices.empty()) {
        std::snprintf(line, sizeof(line), "%-12s %10s %10s %8s %8s %9s %9s %6s\n", "DEVICE", "READ",
                      "WRITE", "R_IOPS", "W_IOPS", "P50", "P99", "UTIL%");
        out += line;
        for (const auto& d : s.devices) {
            std::snprintf(line, sizeof(line), "%-12s %10s %10s %8.0f %8.0f %9s %9s %6.0f\n",
                          d.name.c_str(), rate(static_cast<double>(d.read_bytes), secs).c_str(),
                          rate(static_cast<double>(d.write_bytes), secs).c_str(),
                          secs > 0 ? d.read_ios / secs : 0, secs > 0 ? d.write_ios / secs : 0,
                          format_us(d.lat_p50_us).c_str(), format_us(d.lat_p99_us).c_str(),
                          d.util_pct);
            out += line;
        }
    }
    return out;
}

}  // namespace perfbpf

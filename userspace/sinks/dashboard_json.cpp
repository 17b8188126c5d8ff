#include "sinks/dashboard_json.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace perfbpf {

using nlohmann::json;

namespace {

// Three significant digits after the point are more than a chart or a table shows, and
// shorter than a double's 17.
double r3(double v) {
    return std::isfinite(v) ? std::round(v * 1000) / 1000 : 0;
}

// Names keep their end: a cgroup's or a path's last component is what tells it apart.
std::string cut(const std::string& s) {
    if (s.size() <= kDashboardTextMax) return s;
    size_t from = s.size() - (kDashboardTextMax - 3);
    while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
    return "..." + s.substr(from);
}

// Sentences keep their start, where they say what is wrong.
std::string cut_sentence(const std::string& s) {
    if (s.size() <= kDashboardSentenceMax) return s;
    size_t to = kDashboardSentenceMax - 3;
    while (to > 0 && (static_cast<unsigned char>(s[to]) & 0xC0) == 0x80) --to;
    return s.substr(0, to) + "...";
}

json psi_some(const Psi& p) {
    return p.available ? json(r3(p.some.interval_pct)) : json(nullptr);
}

// The indices of the top n of `items` by `key`, largest first.
template <class T, class Key>
std::vector<const T*> top(const std::vector<T>& items, Key key) {
    std::vector<const T*> out;
    for (const auto& i : items) out.push_back(&i);
    const size_t n = std::min(out.size(), kDashboardTop);
    std::partial_sort(out.begin(), out.begin() + static_cast<ptrdiff_t>(n), out.end(),
                      [&](const T* a, const T* b) { return key(*a) > key(*b); });
    out.resize(n);
    return out;
}

json host_json(const Snapshot& s, double per_s) {
    const SystemSample& y = s.system;
    double read = 0, write = 0, lat = 0, util = 0;
    for (const auto& d : s.devices) {
        read += static_cast<double>(d.read_bytes);
        write += static_cast<double>(d.write_bytes);
        lat = std::max(lat, d.lat_p99_us);
        util = std::max(util, d.util_pct);
    }
    const uint64_t swap_used =
        y.swap_total_bytes > y.swap_free_bytes ? y.swap_total_bytes - y.swap_free_bytes : 0;
    return {
        {"ncpus", y.ncpus},
        {"cpu",
         {{"busy", r3(y.cpu_busy_pct)},
          {"user", r3(y.cpu_user_pct)},
          {"system", r3(y.cpu_system_pct)},
          {"iowait", r3(y.cpu_iowait_pct)},
          {"steal", r3(y.cpu_steal_pct)}}},
        {"mem",
         {{"total", y.mem_total_bytes},
          {"available", y.mem_available_bytes},
          {"free", y.mem_free_bytes},
          {"swap_used", swap_used}}},
        {"load", {r3(y.loadavg[0]), r3(y.loadavg[1]), r3(y.loadavg[2])}},
        {"psi",
         {{"cpu", psi_some(y.psi_cpu)},
          {"memory", psi_some(y.psi_memory)},
          {"io", psi_some(y.psi_io)}}},
        {"disk",
         {{"read_bps", r3(read * per_s)},
          {"write_bps", r3(write * per_s)},
          {"lat_p99_us", r3(lat)},
          {"util_pct", r3(util)}}},
        {"net",
         {{"tx_bps", r3(static_cast<double>(y.tcp_tx_bytes) * per_s)},
          {"rx_bps", r3(static_cast<double>(y.tcp_rx_bytes) * per_s)},
          {"retrans_ps", r3(static_cast<double>(y.tcp_retransmits) * per_s)},
          {"drops_ps", r3(static_cast<double>(y.packet_drops_total) * per_s)}}},
    };
}

json labels_json(const Labels& labels) {
    json out = json::object();
    for (const auto& [k, v] : labels) out[k] = cut(v);
    return out;
}

}  // namespace

json dashboard_now_json(const Snapshot& s, std::span<const Verdict> verdicts,
                        std::span<const Alert> firing) {
    const double interval_s = static_cast<double>(s.interval_ns) / 1e9;
    const double per_s = interval_s > 0 ? 1 / interval_s : 0;
    json procs = json::array();
    for (const ProcessSample* p :
         top(s.processes, [](const ProcessSample& p) { return p.cpu_pct; }))
        procs.push_back(
            {{"pid", p->pid},
             {"start", std::to_string(p->start_time_ticks)},
             {"comm", cut(p->comm)},
             {"cgroup", cut(p->cgroup)},
             {"cpu", r3(p->cpu_pct)},
             {"rss", p->rss_bytes},
             {"io_bps", r3(static_cast<double>(p->read_bytes + p->write_bytes) * per_s)},
             {"runq_p99_us", r3(p->runq_lat_p99_us)}});
    json cgroups = json::array();
    for (const CgroupSample* c : top(s.cgroups, [](const CgroupSample& c) { return c.cpu_pct; }))
        cgroups.push_back(
            {{"cgroup", cut(c->path)},
             {"cpu", r3(c->cpu_pct)},
             {"rss", c->rss_bytes},
             {"io_bps", r3(static_cast<double>(c->read_bytes + c->write_bytes) * per_s)},
             {"psi_cpu", psi_some(c->psi_cpu)},
             {"psi_mem", psi_some(c->psi_memory)},
             {"psi_io", psi_some(c->psi_io)}});
    json devices = json::array();
    for (const DeviceSample* d : top(s.devices, [](const DeviceSample& d) {
             return static_cast<double>(d.read_bytes + d.write_bytes) + d.util_pct;
         }))
        devices.push_back({{"device", cut(d->name)},
                           {"read_bps", r3(static_cast<double>(d->read_bytes) * per_s)},
                           {"write_bps", r3(static_cast<double>(d->write_bytes) * per_s)},
                           {"lat_p99_us", r3(d->lat_p99_us)},
                           {"util", r3(d->util_pct)}});
    json verdict_list = json::array();
    for (const auto& v : verdicts)
        verdict_list.push_back({{"resource", v.resource},
                                {"severity", severity_name(v.severity)},
                                {"evidence", cut_sentence(v.evidence)},
                                {"subject", cut(v.subject)}});
    json alerts = json::array();
    for (size_t i = 0; i < firing.size() && i < kDashboardAlertsMax; ++i) {
        const Alert& a = firing[i];
        alerts.push_back({{"alert", cut(a.rule)},
                          {"severity", severity_name(a.severity)},
                          {"labels", labels_json(a.object)},
                          {"value", r3(a.value)},
                          {"threshold", r3(a.threshold)},
                          {"summary", cut_sentence(a.summary)},
                          {"since", a.starts_ms}});
    }
    return {{"ts", s.end_unix_ms},
            {"interval_s", r3(interval_s)},
            {"host", host_json(s, per_s)},
            {"processes", std::move(procs)},
            {"cgroups", std::move(cgroups)},
            {"devices", std::move(devices)},
            {"verdicts", std::move(verdict_list)},
            {"alerts", std::move(alerts)},
            {"more_alerts",
             firing.size() > kDashboardAlertsMax ? firing.size() - kDashboardAlertsMax : 0}};
}

}  // namespace perfbpf

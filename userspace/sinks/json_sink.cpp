#include "sinks/json_sink.h"

#include "detect/verdict.h"

namespace perfbpf {

using nlohmann::json;

json histogram_json(const Log2Histogram& h) {
    // Sparse: {"le_us": upper bound of the slot, "count": n} for non-empty slots.
    json out = json::array();
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        if (h.slot(i) == 0) continue;
        out.push_back({{"le_us", Log2Histogram::slot_high_us(i)}, {"count", h.slot(i)}});
    }
    return out;
}

json probe_status_json(const std::vector<ProbeStatus>& probes) {
    json out = json::array();
    for (const auto& p : probes)
        out.push_back({{"family", p.family},
                       {"probe", p.probe},
                       {"attached", p.attached},
                       {"core", p.core},
                       {"skipped", p.skipped},
                       {"reason", p.reason}});
    return out;
}

namespace {

json psi_json(const Psi& p) {
    if (!p.available) return nullptr;
    auto line = [](const PsiLine& l) {
        return json{{"avg10", l.avg10},
                    {"avg60", l.avg60},
                    {"avg300", l.avg300},
                    {"total_us", l.total_us},
                    {"interval_pct", l.interval_pct}};
    };
    json out{{"some", line(p.some)}};
    if (p.full) out["full"] = line(*p.full);
    return out;
}

json opt_json(const std::optional<uint64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

json process_json(const ProcessSample& p) {
    return {{"pid", p.pid},
            {"ppid", p.ppid},
            {"comm", p.comm},
            {"cgroup", p.cgroup},
            {"netns", p.netns},
            {"threads", p.threads},
            {"exited", p.exited},
            {"exit_code", p.exit_code},
            {"cpu_pct", p.cpu_pct},
            {"oncpu_ns", p.oncpu_ns},
            {"runq_wait_ns", p.runq_wait_ns},
            {"runq_waits", p.runq_waits},
            {"runq_lat_p99_us", p.runq_lat_p99_us},
            {"runq_hist", histogram_json(p.runq_hist)},
            {"offcpu_ns", p.offcpu_ns},
            {"vol_switches", p.vol_switches},
            {"invol_switches", p.invol_switches},
            {"read_bytes", p.read_bytes},
            {"write_bytes", p.write_bytes},
            {"read_ios", p.read_ios},
            {"write_ios", p.write_ios},
            {"io_lat_p99_us", p.io_lat_p99_us},
            {"io_lat_hist", histogram_json(p.io_lat_hist)},
            {"tcp_tx_bytes", p.tcp_tx_bytes},
            {"tcp_rx_bytes", p.tcp_rx_bytes},
            {"tcp_retransmits", p.tcp_retransmits},
            {"rss_bytes", p.rss_bytes},
            {"rss_growth_bytes", p.rss_growth_bytes},
            {"rss_peak_bytes", p.rss_peak_bytes},
            {"minor_faults", p.minor_faults},
            {"major_faults", p.major_faults}};
}

json cgroup_memory_json(const CgroupMemory& m) {
    if (m.source.empty()) return nullptr;
    return {{"source", m.source},
            {"current_bytes", m.current_bytes},
            {"high_bytes", opt_json(m.high_bytes)},
            {"max_bytes", opt_json(m.max_bytes)},
            {"anon_bytes", m.anon_bytes},
            {"file_bytes", m.file_bytes},
            {"active_anon_bytes", m.active_anon_bytes},
            {"inactive_anon_bytes", m.inactive_anon_bytes},
            {"active_file_bytes", m.active_file_bytes},
            {"inactive_file_bytes", m.inactive_file_bytes},
            {"workingset_refault_anon", opt_json(m.workingset_refault_anon)},
            {"workingset_refault_file", opt_json(m.workingset_refault_file)},
            {"pgscan", opt_json(m.pgscan)},
            {"pgsteal", opt_json(m.pgsteal)},
            {"pgmajfault", m.pgmajfault},
            {"high_events", opt_json(m.high_events)}};
}

json cgroup_json(const CgroupSample& c) {
    return {{"path", c.path},
            {"hierarchy", c.hierarchy},
            {"v1_cpu_path", c.v1_cpu_path},
            {"v1_memory_path", c.v1_memory_path},
            {"processes", c.processes},
            {"cpu_pct", c.cpu_pct},
            {"oncpu_ns", c.oncpu_ns},
            {"offcpu_ns", c.offcpu_ns},
            {"runq_wait_ns", c.runq_wait_ns},
            {"runq_waits", c.runq_waits},
            {"runq_lat_p99_us", c.runq_lat_p99_us},
            {"runq_hist", histogram_json(c.runq_hist)},
            {"vol_switches", c.vol_switches},
            {"invol_switches", c.invol_switches},
            {"burst_avg_us", c.burst_avg_us},
            {"read_bytes", c.read_bytes},
            {"write_bytes", c.write_bytes},
            {"tcp_tx_bytes", c.tcp_tx_bytes},
            {"tcp_rx_bytes", c.tcp_rx_bytes},
            {"tcp_retransmits", c.tcp_retransmits},
            {"rss_bytes", c.rss_bytes},
            {"rss_growth_bytes", c.rss_growth_bytes},
            {"psi_cpu", psi_json(c.psi_cpu)},
            {"psi_memory", psi_json(c.psi_memory)},
            {"psi_io", psi_json(c.psi_io)},
            {"psi_unavailable", c.psi_unavailable},
            {"memory", cgroup_memory_json(c.memory)},
            {"memory_unavailable", c.memory.unavailable}};
}

json netns_json(const NetnsSample& n) {
    return {{"inode", n.inode},
            {"name", n.name},
            {"pid", n.pid},
            {"processes", n.processes},
            {"tcp_tx_bytes", n.tcp_tx_bytes},
            {"tcp_rx_bytes", n.tcp_rx_bytes},
            {"tcp_retransmits", n.tcp_retransmits},
            {"packet_drops", n.packet_drops},
            {"packet_drops_total", n.packet_drops_total},
            {"cpu_backlog_drops", n.cpu_backlog_drops},
            {"rcvqueue_full", n.rcvqueue_full},
            {"mem_limit_send", n.mem_limit_send},
            {"mem_limit_recv", n.mem_limit_recv},
            {"rcvbuf_grow", opt_json(n.rcvbuf_grow)},
            {"rcvbuf_grow_at_max", opt_json(n.rcvbuf_grow_at_max)},
            {"rcvbuf_grow_locked", opt_json(n.rcvbuf_grow_locked)},
            {"tcp_samples", n.tcp_samples},
            {"srtt_p50_us", n.srtt_p50_us},
            {"srtt_p99_us", n.srtt_p99_us},
            {"srtt_hist", histogram_json(n.srtt_hist)},
            {"snd_wnd_avg_bytes", n.snd_wnd_avg_bytes},
            {"rcv_wnd_avg_bytes", n.rcv_wnd_avg_bytes},
            {"sndbuf_avg_bytes", n.sndbuf_avg_bytes},
            {"rcvbuf_avg_bytes", n.rcvbuf_avg_bytes},
            {"inflight_avg_bytes", n.inflight_avg_bytes},
            {"bdp_avg_bytes", n.bdp_avg_bytes},
            {"rwnd_limited_samples", n.rwnd_limited_samples},
            {"sndbuf_limited_samples", n.sndbuf_limited_samples},
            {"sndbuf_at_max_samples", n.sndbuf_at_max_samples},
            {"rcvbuf_at_max_samples", n.rcvbuf_at_max_samples},
            {"netstat_available", n.netstat_available},
            {"netstat_unavailable", n.netstat_unavailable},
            {"listen_overflows", n.listen_overflows},
            {"listen_drops", n.listen_drops},
            {"syn_queue_drops", n.syn_queue_drops},
            {"syncookies_sent", n.syncookies_sent},
            {"rcvq_drops", n.rcvq_drops},
            {"backlog_drops", n.backlog_drops},
            {"prune_called", n.prune_called},
            {"memory_pressures", n.memory_pressures}};
}

json device_json(const DeviceSample& d) {
    return {{"name", d.name},
            {"major", d.major},
            {"minor", d.minor},
            {"read_bytes", d.read_bytes},
            {"write_bytes", d.write_bytes},
            {"read_ios", d.read_ios},
            {"write_ios", d.write_ios},
            {"other_ios", d.other_ios},
            {"read_seq_ios", d.read_seq_ios},
            {"write_seq_ios", d.write_seq_ios},
            {"lat_p50_us", d.lat_p50_us},
            {"lat_p99_us", d.lat_p99_us},
            {"read_lat_p99_us", d.read_lat_p99_us},
            {"write_lat_p99_us", d.write_lat_p99_us},
            {"lat_hist", histogram_json(d.lat_hist)},
            {"read_lat_hist", histogram_json(d.read_lat_hist)},
            {"write_lat_hist", histogram_json(d.write_lat_hist)},
            {"lat_source", d.lat_source},
            {"inflight_max", d.inflight_max},
            {"util_pct", d.util_pct},
            {"avg_queue_depth", d.avg_queue_depth}};
}

json cpu_json(const CpuSample& c) {
    return {{"cpu", c.cpu},
            {"busy_pct", c.busy_pct},
            {"runq_wait_ns", c.runq_wait_ns},
            {"runq_waits", c.runq_waits},
            {"runq_lat_p99_us", c.runq_lat_p99_us},
            {"runq_hist", histogram_json(c.runq_hist)},
            {"runq_avg_waiting", c.runq_avg_waiting},
            {"nr_running_avg", c.nr_running_avg}};
}

json system_json(const SystemSample& s) {
    return {{"kernel", s.kernel},
            {"ncpus", s.ncpus},
            {"loadavg", {s.loadavg[0], s.loadavg[1], s.loadavg[2]}},
            {"running", s.running},
            {"total_tasks", s.total_tasks},
            {"cpu_user_pct", s.cpu_user_pct},
            {"cpu_system_pct", s.cpu_system_pct},
            {"cpu_iowait_pct", s.cpu_iowait_pct},
            {"cpu_irq_pct", s.cpu_irq_pct},
            {"cpu_steal_pct", s.cpu_steal_pct},
            {"cpu_idle_pct", s.cpu_idle_pct},
            {"cpu_busy_pct", s.cpu_busy_pct},
            {"context_switches", s.context_switches},
            {"mem_total_bytes", s.mem_total_bytes},
            {"mem_available_bytes", s.mem_available_bytes},
            {"mem_free_bytes", s.mem_free_bytes},
            {"swap_total_bytes", s.swap_total_bytes},
            {"swap_free_bytes", s.swap_free_bytes},
            {"major_faults", s.major_faults},
            {"minor_faults", s.minor_faults},
            {"pages_swapped_in", s.pages_swapped_in},
            {"pages_swapped_out", s.pages_swapped_out},
            {"pgscan_kswapd", s.pgscan_kswapd},
            {"pgscan_direct", s.pgscan_direct},
            {"pgsteal_kswapd", s.pgsteal_kswapd},
            {"pgsteal_direct", s.pgsteal_direct},
            {"workingset_refault_anon", s.workingset_refault_anon},
            {"workingset_refault_file", s.workingset_refault_file},
            {"allocstall", s.allocstall},
            {"psi_cpu", psi_json(s.psi_cpu)},
            {"psi_memory", psi_json(s.psi_memory)},
            {"psi_io", psi_json(s.psi_io)},
            {"runq_lat_p99_us", s.runq_lat_p99_us},
            {"runq_hist", histogram_json(s.runq_hist)},
            {"tcp_retransmits", s.tcp_retransmits},
            {"tcp_retransmits_unattributed", s.tcp_retransmits_unattributed},
            {"tcp_tx_bytes", s.tcp_tx_bytes},
            {"tcp_rx_bytes", s.tcp_rx_bytes},
            {"tcp_state_changes", s.tcp_state_changes},
            {"tcp_resets", s.tcp_resets},
            {"tcp_states_entered", s.tcp_states_entered},
            {"packet_drops", s.packet_drops},
            {"packet_drops_total", s.packet_drops_total},
            {"softnet_backlog_drops", s.softnet_backlog_drops},
            {"softnet_time_squeeze", s.softnet_time_squeeze},
            {"tcp_rtt_samples", s.tcp_rtt_samples},
            {"tcp_srtt_p99_us", s.tcp_srtt_p99_us},
            {"tcp_cwnd_avg_segs", s.tcp_cwnd_avg_segs}};
}

}  // namespace

json snapshot_json(const Snapshot& s, const std::vector<Verdict>& verdicts) {
    json processes = json::array(), cgroups = json::array(), devices = json::array(),
         cpus = json::array(), netns = json::array(), vs = json::array(), ooms = json::array();
    for (const auto& p : s.processes) processes.push_back(process_json(p));
    for (const auto& c : s.cgroups) cgroups.push_back(cgroup_json(c));
    for (const auto& d : s.devices) devices.push_back(device_json(d));
    for (const auto& c : s.cpus) cpus.push_back(cpu_json(c));
    for (const auto& n : s.netns) netns.push_back(netns_json(n));
    for (const auto& v : verdicts)
        vs.push_back({{"resource", v.resource},
                      {"severity", severity_name(v.severity)},
                      {"evidence", v.evidence},
                      {"subject", v.subject}});
    for (const auto& o : s.oom_kills)
        ooms.push_back({{"pid", o.pid}, {"comm", o.comm}, {"rss_bytes", o.rss_bytes}});
    json drops{{"total", s.drops.total}};
    for (const auto& [kind, n] : s.drops.by_kind) drops[kind] = n;
    return {{"interval_ns", s.interval_ns},    {"end_unix_ms", s.end_unix_ms},
            {"system", system_json(s.system)}, {"processes", std::move(processes)},
            {"cgroups", std::move(cgroups)},   {"devices", std::move(devices)},
            {"cpus", std::move(cpus)},         {"netns", std::move(netns)},
            {"verdicts", std::move(vs)},       {"oom_kills", std::move(ooms)},
            {"drops", std::move(drops)},       {"probes", probe_status_json(s.probes)}};
}

}  // namespace perfbpf

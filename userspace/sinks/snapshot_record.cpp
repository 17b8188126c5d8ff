#include "sinks/snapshot_record.h"

#include <cerrno>
#include <cmath>

#include "sinks/json_sink.h"
#include "util/files.h"
#include "util/json_limits.h"
#include "util/safe_open.h"

namespace perfbpf {

using nlohmann::json;

namespace {

Log2Histogram histogram_from(const json& j) {
    Log2Histogram h;
    if (!j.is_array()) return h;
    for (const auto& e : j) {
        double le = e.value("le_us", 0.0);
        uint64_t n = e.value("count", uint64_t{0});
        // le_us is the slot's upper bound: 1 for slot 0, 2^k for slot k.
        size_t slot = le <= 1.0 ? 0 : static_cast<size_t>(std::lround(std::log2(le)));
        h.add_slot(slot, n);
    }
    return h;
}

PsiLine psi_line_from(const json& j) {
    PsiLine l;
    l.avg10 = j.value("avg10", 0.0);
    l.avg60 = j.value("avg60", 0.0);
    l.avg300 = j.value("avg300", 0.0);
    l.total_us = j.value("total_us", uint64_t{0});
    l.interval_pct = j.value("interval_pct", 0.0);
    return l;
}

Psi psi_from(const json& j) {
    Psi p;
    if (!j.is_object()) return p;
    p.available = true;
    if (j.contains("some")) p.some = psi_line_from(j["some"]);
    if (j.contains("full")) p.full = psi_line_from(j["full"]);
    return p;
}

template <class T>
void get(const json& j, const char* key, T& out) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}

// A number, or null (nullopt).
void get_opt(const json& j, const char* key, std::optional<uint64_t>& out) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<uint64_t>();
}

CgroupMemory cgroup_memory_from(const json& cj) {
    CgroupMemory m;
    get(cj, "memory_unavailable", m.unavailable);
    const json& mj = cj.value("memory", json());
    if (!mj.is_object()) return m;
    get(mj, "source", m.source);
    get(mj, "current_bytes", m.current_bytes);
    get_opt(mj, "high_bytes", m.high_bytes);
    get_opt(mj, "max_bytes", m.max_bytes);
    get(mj, "anon_bytes", m.anon_bytes);
    get(mj, "file_bytes", m.file_bytes);
    get(mj, "active_anon_bytes", m.active_anon_bytes);
    get(mj, "inactive_anon_bytes", m.inactive_anon_bytes);
    get(mj, "active_file_bytes", m.active_file_bytes);
    get(mj, "inactive_file_bytes", m.inactive_file_bytes);
    get_opt(mj, "workingset_refault_anon", m.workingset_refault_anon);
    get_opt(mj, "workingset_refault_file", m.workingset_refault_file);
    get_opt(mj, "pgscan", m.pgscan);
    get_opt(mj, "pgsteal", m.pgsteal);
    get(mj, "pgmajfault", m.pgmajfault);
    get_opt(mj, "high_events", m.high_events);
    return m;
}

NetnsSample netns_from(const json& nj) {
    NetnsSample n;
    get(nj, "inode", n.inode);
    get(nj, "name", n.name);
    get(nj, "pid", n.pid);
    get(nj, "processes", n.processes);
    get(nj, "tcp_tx_bytes", n.tcp_tx_bytes);
    get(nj, "tcp_rx_bytes", n.tcp_rx_bytes);
    get(nj, "tcp_retransmits", n.tcp_retransmits);
    get(nj, "packet_drops", n.packet_drops);
    get(nj, "packet_drops_total", n.packet_drops_total);
    get(nj, "cpu_backlog_drops", n.cpu_backlog_drops);
    get(nj, "rcvqueue_full", n.rcvqueue_full);
    get(nj, "mem_limit_send", n.mem_limit_send);
    get(nj, "mem_limit_recv", n.mem_limit_recv);
    get_opt(nj, "rcvbuf_grow", n.rcvbuf_grow);
    get_opt(nj, "rcvbuf_grow_at_max", n.rcvbuf_grow_at_max);
    get_opt(nj, "rcvbuf_grow_locked", n.rcvbuf_grow_locked);
    get(nj, "tcp_samples", n.tcp_samples);
    get(nj, "srtt_p50_us", n.srtt_p50_us);
    get(nj, "srtt_p99_us", n.srtt_p99_us);
    n.srtt_hist = histogram_from(nj.value("srtt_hist", json()));
    get(nj, "snd_wnd_avg_bytes", n.snd_wnd_avg_bytes);
    get(nj, "rcv_wnd_avg_bytes", n.rcv_wnd_avg_bytes);
    get(nj, "sndbuf_avg_bytes", n.sndbuf_avg_bytes);
    get(nj, "rcvbuf_avg_bytes", n.rcvbuf_avg_bytes);
    get(nj, "inflight_avg_bytes", n.inflight_avg_bytes);
    get(nj, "bdp_avg_bytes", n.bdp_avg_bytes);
    get(nj, "rwnd_limited_samples", n.rwnd_limited_samples);
    get(nj, "sndbuf_limited_samples", n.sndbuf_limited_samples);
    get(nj, "sndbuf_at_max_samples", n.sndbuf_at_max_samples);
    get(nj, "rcvbuf_at_max_samples", n.rcvbuf_at_max_samples);
    get(nj, "netstat_available", n.netstat_available);
    get(nj, "netstat_unavailable", n.netstat_unavailable);
    get(nj, "listen_overflows", n.listen_overflows);
    get(nj, "listen_drops", n.listen_drops);
    get(nj, "syn_queue_drops", n.syn_queue_drops);
    get(nj, "syncookies_sent", n.syncookies_sent);
    get(nj, "rcvq_drops", n.rcvq_drops);
    get(nj, "backlog_drops", n.backlog_drops);
    get(nj, "prune_called", n.prune_called);
    get(nj, "memory_pressures", n.memory_pressures);
    return n;
}

}  // namespace

Result<Snapshot> snapshot_from_json(const json& j) {
    if (!j.is_object() || !j.contains("interval_ns"))
        return fail("not a perfbpf snapshot (no interval_ns)");
    // Replay waits interval_ns between frames and rates divide by it: 0 divides by zero, a
    // negative one reads as 2^64 ns.
    const json& iv = j["interval_ns"];
    if (!iv.is_number_unsigned() || iv.get<uint64_t>() == 0 ||
        iv.get<uint64_t>() > kMaxSnapshotIntervalNs)
        return fail("interval_ns " + iv.dump() + " is not between 1 ns and 1 day");
    try {
        Snapshot s;
        get(j, "interval_ns", s.interval_ns);
        get(j, "end_unix_ms", s.end_unix_ms);
        const json& sys = j.value("system", json::object());
        SystemSample& y = s.system;
        get(sys, "kernel", y.kernel);
        get(sys, "ncpus", y.ncpus);
        if (sys.contains("loadavg") && sys["loadavg"].size() == 3)
            for (size_t i = 0; i < 3; ++i) y.loadavg[i] = sys["loadavg"][i].get<double>();
        get(sys, "running", y.running);
        get(sys, "total_tasks", y.total_tasks);
        get(sys, "cpu_user_pct", y.cpu_user_pct);
        get(sys, "cpu_system_pct", y.cpu_system_pct);
        get(sys, "cpu_iowait_pct", y.cpu_iowait_pct);
        get(sys, "cpu_irq_pct", y.cpu_irq_pct);
        get(sys, "cpu_steal_pct", y.cpu_steal_pct);
        get(sys, "cpu_idle_pct", y.cpu_idle_pct);
        get(sys, "cpu_busy_pct", y.cpu_busy_pct);
        get(sys, "context_switches", y.context_switches);
        get(sys, "mem_total_bytes", y.mem_total_bytes);
        get(sys, "mem_available_bytes", y.mem_available_bytes);
        get(sys, "mem_free_bytes", y.mem_free_bytes);
        get(sys, "swap_total_bytes", y.swap_total_bytes);
        get(sys, "swap_free_bytes", y.swap_free_bytes);
        get(sys, "major_faults", y.major_faults);
        get(sys, "minor_faults", y.minor_faults);
        get(sys, "pages_swapped_in", y.pages_swapped_in);
        get(sys, "pages_swapped_out", y.pages_swapped_out);
        get(sys, "pgscan_kswapd", y.pgscan_kswapd);
        get(sys, "pgscan_direct", y.pgscan_direct);
        get(sys, "pgsteal_kswapd", y.pgsteal_kswapd);
        get(sys, "pgsteal_direct", y.pgsteal_direct);
        get(sys, "workingset_refault_anon", y.workingset_refault_anon);
        get(sys, "workingset_refault_file", y.workingset_refault_file);
        get(sys, "allocstall", y.allocstall);
        y.psi_cpu = psi_from(sys.value("psi_cpu", json()));
        y.psi_memory = psi_from(sys.value("psi_memory", json()));
        y.psi_io = psi_from(sys.value("psi_io", json()));
        get(sys, "runq_lat_p99_us", y.runq_lat_p99_us);
        y.runq_hist = histogram_from(sys.value("runq_hist", json()));
        get(sys, "tcp_retransmits", y.tcp_retransmits);
        get(sys, "tcp_tx_bytes", y.tcp_tx_bytes);
        get(sys, "tcp_rx_bytes", y.tcp_rx_bytes);
        get(sys, "tcp_state_changes", y.tcp_state_changes);
        get(sys, "tcp_resets", y.tcp_resets);
        get(sys, "tcp_states_entered", y.tcp_states_entered);
        get(sys, "packet_drops", y.packet_drops);
        get(sys, "packet_drops_total", y.packet_drops_total);
        get(sys, "softnet_backlog_drops", y.softnet_backlog_drops);
        get(sys, "softnet_time_squeeze", y.softnet_time_squeeze);
        get(sys, "tcp_srtt_p99_us", y.tcp_srtt_p99_us);

        for (const auto& pj : j.value("processes", json::array())) {
            ProcessSample p;
            get(pj, "pid", p.pid);
            get(pj, "ppid", p.ppid);
            get(pj, "comm", p.comm);
            get(pj, "cgroup", p.cgroup);
            get(pj, "netns", p.netns);
            get(pj, "threads", p.threads);
            get(pj, "exited", p.exited);
            get(pj, "exit_code", p.exit_code);
            get(pj, "cpu_pct", p.cpu_pct);
            get(pj, "oncpu_ns", p.oncpu_ns);
            get(pj, "runq_wait_ns", p.runq_wait_ns);
            get(pj, "runq_waits", p.runq_waits);
            get(pj, "runq_lat_p99_us", p.runq_lat_p99_us);
            p.runq_hist = histogram_from(pj.value("runq_hist", json()));
            get(pj, "offcpu_ns", p.offcpu_ns);
            get(pj, "vol_switches", p.vol_switches);
            get(pj, "invol_switches", p.invol_switches);
            get(pj, "read_bytes", p.read_bytes);
            get(pj, "write_bytes", p.write_bytes);
            get(pj, "read_ios", p.read_ios);
            get(pj, "write_ios", p.write_ios);
            get(pj, "io_lat_p99_us", p.io_lat_p99_us);
            p.io_lat_hist = histogram_from(pj.value("io_lat_hist", json()));
            get(pj, "tcp_tx_bytes", p.tcp_tx_bytes);
            get(pj, "tcp_rx_bytes", p.tcp_rx_bytes);
            get(pj, "tcp_retransmits", p.tcp_retransmits);
            get(pj, "rss_bytes", p.rss_bytes);
            get(pj, "rss_growth_bytes", p.rss_growth_bytes);
            get(pj, "minor_faults", p.minor_faults);
            get(pj, "major_faults", p.major_faults);
            s.processes.push_back(std::move(p));
        }
        for (const auto& cj : j.value("cgroups", json::array())) {
            CgroupSample c;
            get(cj, "path", c.path);
            get(cj, "hierarchy", c.hierarchy);
            get(cj, "v1_cpu_path", c.v1_cpu_path);
            get(cj, "v1_memory_path", c.v1_memory_path);
            get(cj, "processes", c.processes);
            get(cj, "cpu_pct", c.cpu_pct);
            get(cj, "oncpu_ns", c.oncpu_ns);
            get(cj, "offcpu_ns", c.offcpu_ns);
            get(cj, "runq_wait_ns", c.runq_wait_ns);
            get(cj, "runq_waits", c.runq_waits);
            get(cj, "runq_lat_p99_us", c.runq_lat_p99_us);
            c.runq_hist = histogram_from(cj.value("runq_hist", json()));
            get(cj, "vol_switches", c.vol_switches);
            get(cj, "invol_switches", c.invol_switches);
            get(cj, "burst_avg_us", c.burst_avg_us);
            get(cj, "read_bytes", c.read_bytes);
            get(cj, "write_bytes", c.write_bytes);
            get(cj, "tcp_tx_bytes", c.tcp_tx_bytes);
            get(cj, "tcp_rx_bytes", c.tcp_rx_bytes);
            get(cj, "tcp_retransmits", c.tcp_retransmits);
            get(cj, "rss_bytes", c.rss_bytes);
            get(cj, "rss_growth_bytes", c.rss_growth_bytes);
            c.psi_cpu = psi_from(cj.value("psi_cpu", json()));
            c.psi_memory = psi_from(cj.value("psi_memory", json()));
            c.psi_io = psi_from(cj.value("psi_io", json()));
            get(cj, "psi_unavailable", c.psi_unavailable);
            c.memory = cgroup_memory_from(cj);
            s.cgroups.push_back(std::move(c));
        }
        for (const auto& dj : j.value("devices", json::array())) {
            DeviceSample d;
            get(dj, "name", d.name);
            get(dj, "major", d.major);
            get(dj, "minor", d.minor);
            get(dj, "read_bytes", d.read_bytes);
            get(dj, "write_bytes", d.write_bytes);
            get(dj, "read_ios", d.read_ios);
            get(dj, "write_ios", d.write_ios);
            get(dj, "other_ios", d.other_ios);
            get(dj, "read_seq_ios", d.read_seq_ios);
            get(dj, "write_seq_ios", d.write_seq_ios);
            get(dj, "lat_p50_us", d.lat_p50_us);
            get(dj, "lat_p99_us", d.lat_p99_us);
            get(dj, "read_lat_p99_us", d.read_lat_p99_us);
            get(dj, "write_lat_p99_us", d.write_lat_p99_us);
            d.lat_hist = histogram_from(dj.value("lat_hist", json()));
            d.read_lat_hist = histogram_from(dj.value("read_lat_hist", json()));
            d.write_lat_hist = histogram_from(dj.value("write_lat_hist", json()));
            get(dj, "inflight_max", d.inflight_max);
            get(dj, "util_pct", d.util_pct);
            get(dj, "avg_queue_depth", d.avg_queue_depth);
            s.devices.push_back(std::move(d));
        }
        for (const auto& cj : j.value("cpus", json::array())) {
            CpuSample c;
            get(cj, "cpu", c.cpu);
            get(cj, "busy_pct", c.busy_pct);
            get(cj, "runq_wait_ns", c.runq_wait_ns);
            get(cj, "runq_waits", c.runq_waits);
            get(cj, "runq_lat_p99_us", c.runq_lat_p99_us);
            c.runq_hist = histogram_from(cj.value("runq_hist", json()));
            get(cj, "runq_avg_waiting", c.runq_avg_waiting);
            get(cj, "nr_running_avg", c.nr_running_avg);
            s.cpus.push_back(std::move(c));
        }
        for (const auto& nj : j.value("netns", json::array())) s.netns.push_back(netns_from(nj));
        for (const auto& oj : j.value("oom_kills", json::array())) {
            OomKill o;
            get(oj, "pid", o.pid);
            get(oj, "comm", o.comm);
            get(oj, "rss_bytes", o.rss_bytes);
            s.oom_kills.push_back(std::move(o));
        }
        if (j.contains("drops") && j["drops"].is_object()) {
            for (const auto& [k, v] : j["drops"].items()) {
                if (k == "total")
                    s.drops.total = v.get<uint64_t>();
                else
                    s.drops.by_kind[k] = v.get<uint64_t>();
            }
        }
        for (const auto& pj : j.value("probes", json::array())) {
            ProbeStatus p;
            get(pj, "family", p.family);
            get(pj, "probe", p.probe);
            get(pj, "attached", p.attached);
            get(pj, "core", p.core);
            get(pj, "skipped", p.skipped);
            get(pj, "reason", p.reason);
            s.probes.push_back(std::move(p));
        }
        return s;
    } catch (const json::exception& e) {
        return fail(std::string("malformed snapshot: ") + e.what());
    }
}

Result<std::vector<Snapshot>> read_recording(const std::string& path) {
    auto text = read_regular_file(path, kMaxRecordingBytes);
    if (!text) return std::unexpected(text.error());
    std::vector<Snapshot> out;
    std::string_view rest(*text);
    for (size_t lineno = 1; !rest.empty(); ++lineno) {
        const size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        const std::string where = path + ":" + std::to_string(lineno) + ": ";
        if (line.size() > kMaxRecordingLineBytes)
            return fail(where + "line longer than " + std::to_string(kMaxRecordingLineBytes) +
                        " bytes");
        if (trim(line).empty()) continue;
        auto j = parse_json_bounded(line);
        if (!j) {
            // A run killed mid-write leaves a last line without its newline: ignore only that.
            if (nl == std::string_view::npos) break;
            return fail(where + j.error().message);
        }
        auto s = snapshot_from_json(*j);
        if (!s) return fail(where + s.error().message);
        out.push_back(std::move(*s));
    }
    return out;
}

Result<Recorder> Recorder::open(const std::string& path) {
    Recorder r;
    r.path_ = path;
    auto fd = create_output_file(path, /*append=*/true);
    if (!fd) return fail("recording: " + fd.error().message);
    r.file_.reset(::fdopen(fd->get(), "a"));
    if (!r.file_) return fail_errno("open recording " + path, errno);
    fd->release();  // the FILE owns it now
    return r;
}

Result<void> Recorder::append(const Snapshot& s) {
    std::string line = snapshot_json(s, {}).dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() ||
        std::fflush(file_.get()) != 0)
        return fail_errno("write recording " + path_, errno);
    return {};
}

}  // namespace perfbpf

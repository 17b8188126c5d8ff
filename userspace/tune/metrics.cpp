#include "tune/metrics.h"

#include <algorithm>

#include "tune/tuner.h"

namespace perfbpf::tune {
namespace {

const DeviceSample* find_device(const Snapshot& s, const std::string& name) {
    for (const auto& d : s.devices)
        if (d.name == name) return &d;
    return nullptr;
}

const NetnsSample* find_netns(const Snapshot& s, const std::string& name) {
    for (const auto& n : s.netns)
        if (n.name == name) return &n;
    return nullptr;
}

const CgroupSample* find_cgroup(const Snapshot& s, const std::string& path,
                                const std::string& hierarchy) {
    for (const auto& c : s.cgroups)
        if (c.path == path && c.hierarchy == hierarchy) return &c;
    return nullptr;
}

const ProcessSample* find_process(const Snapshot& s, int pid) {
    for (const auto& p : s.processes)
        if (p.pid == pid) return &p;
    return nullptr;
}

}  // namespace

Metric device_metric(DeviceMetric m, const std::string& device) {
    const std::string at = " @ device:" + device;
    switch (m) {
        case DeviceMetric::read_bytes_per_s:
            return {{"read_bytes_per_s" + at, Better::higher, 64 * 1024, Unit::bytes_per_s},
                    [device](const Snapshot& s) -> std::optional<double> {
                        const DeviceSample* d = find_device(s, device);
                        return d ? double(d->read_bytes) / interval_seconds(s) : 0.0;
                    }};
        case DeviceMetric::read_ios_per_s:
            return {{"read_ios_per_s" + at, Better::higher, 5, Unit::per_s},
                    [device](const Snapshot& s) -> std::optional<double> {
                        const DeviceSample* d = find_device(s, device);
                        return d ? double(d->read_ios) / interval_seconds(s) : 0.0;
                    }};
        case DeviceMetric::ios_per_s:
            return {{"ios_per_s" + at, Better::higher, 5, Unit::per_s},
                    [device](const Snapshot& s) -> std::optional<double> {
                        const DeviceSample* d = find_device(s, device);
                        return d ? double(d->read_ios + d->write_ios) / interval_seconds(s) : 0.0;
                    }};
        case DeviceMetric::bytes_per_s:
            return {{"bytes_per_s" + at, Better::higher, 64 * 1024, Unit::bytes_per_s},
                    [device](const Snapshot& s) -> std::optional<double> {
                        const DeviceSample* d = find_device(s, device);
                        return d ? double(d->read_bytes + d->write_bytes) / interval_seconds(s)
                                 : 0.0;
                    }};
        case DeviceMetric::busy_ms_per_read_mib:
            return {{"busy_ms_per_read_mib" + at, Better::lower, 0.01},
                    [device](const Snapshot& s) -> std::optional<double> {
                        const DeviceSample* d = find_device(s, device);
                        if (!d || d->read_bytes < (1u << 20)) return std::nullopt;
                        const double busy_ms = d->util_pct / 100 * interval_seconds(s) * 1000;
                        return busy_ms / (double(d->read_bytes) / (1 << 20));
                    }};
        case DeviceMetric::read_lat_p99_us:
            return {{"read_lat_p99_us" + at, Better::lower, 20, Unit::us},
                    [device](const Snapshot& s) -> std::optional<double> {
                        const DeviceSample* d = find_device(s, device);
                        if (!d || d->read_lat_hist.empty()) return std::nullopt;
                        return d->read_lat_hist.percentile_us(0.99);
                    }};
    }
    return {};
}

Metric psi_memory_some_pct() {
    return {{"psi_memory_some_pct @ host", Better::lower, 1.0, Unit::pct},
            [](const Snapshot& s) -> std::optional<double> {
                if (!s.system.psi_memory.available) return std::nullopt;
                return s.system.psi_memory.some.interval_pct;
            }};
}

Metric netns_metric(NetnsMetric m, const std::string& netns) {
    const std::string at = netns == "host" ? " @ host" : " @ netns:" + netns;
    switch (m) {
        case NetnsMetric::listen_overflows_per_s:
            return {{"listen_overflows_per_s" + at, Better::lower, 0.5, Unit::per_s},
                    [netns](const Snapshot& s) -> std::optional<double> {
                        const NetnsSample* n = find_netns(s, netns);
                        if (!n || !n->netstat_available) return std::nullopt;
                        return double(n->listen_overflows) / interval_seconds(s);
                    }};
        case NetnsMetric::syn_drops_per_s:
            return {{"syn_drops_per_s" + at, Better::lower, 0.5, Unit::per_s},
                    [netns](const Snapshot& s) -> std::optional<double> {
                        const NetnsSample* n = find_netns(s, netns);
                        if (!n || !n->netstat_available) return std::nullopt;
                        return double(n->syn_queue_drops + n->syncookies_sent) /
                               interval_seconds(s);
                    }};
        case NetnsMetric::tcp_bytes_per_s:
            return {{"tcp_bytes_per_s" + at, Better::higher, 64 * 1024, Unit::bytes_per_s},
                    [netns](const Snapshot& s) -> std::optional<double> {
                        const NetnsSample* n = find_netns(s, netns);
                        return n ? double(n->tcp_tx_bytes + n->tcp_rx_bytes) / interval_seconds(s)
                                 : 0.0;
                    }};
        case NetnsMetric::loss_per_mib:
            return {{"loss_per_mib" + at, Better::lower, 1.0},
                    [netns](const Snapshot& s) -> std::optional<double> {
                        const NetnsSample* n = find_netns(s, netns);
                        if (!n) return std::nullopt;
                        const uint64_t moved = n->tcp_tx_bytes + n->tcp_rx_bytes;
                        if (moved < 64 * 1024) return std::nullopt;
                        return double(n->tcp_retransmits + n->packet_drops_total) /
                               (double(moved) / (1 << 20));
                    }};
    }
    return {};
}

Metric backlog_drops_per_s() {
    return {{"backlog_drops_per_s @ host", Better::lower, 1.0, Unit::per_s},
            [](const Snapshot& s) -> std::optional<double> {
                uint64_t bpf = 0;
                for (const auto& n : s.netns) bpf += n.cpu_backlog_drops;
                return double(std::max(bpf, s.system.softnet_backlog_drops)) / interval_seconds(s);
            }};
}

Metric packet_drops_per_s() {
    return {{"packet_drops_per_s @ host", Better::lower, 10.0, Unit::per_s},
            [](const Snapshot& s) -> std::optional<double> {
                return double(s.system.packet_drops_total) / interval_seconds(s);
            }};
}

std::string cgroup_parent(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) return "/";
    return path.substr(0, slash);
}

Metric cgroup_metric(CgroupMetric m, const std::string& path, const std::string& hierarchy) {
    const std::string at =
        " @ cgroup:" + path + (hierarchy == "v2" ? "" : " (v1 " + hierarchy + ")");
    switch (m) {
        case CgroupMetric::runq_wait_ms_per_s:
            return {{"runq_wait_ms_per_s" + at, Better::lower, 2.0, Unit::ms_per_s},
                    [path, hierarchy](const Snapshot& s) -> std::optional<double> {
                        const CgroupSample* c = find_cgroup(s, path, hierarchy);
                        return c ? double(c->runq_wait_ns) / 1e6 / interval_seconds(s) : 0.0;
                    }};
        case CgroupMetric::oncpu_s_per_s:
            return {{"oncpu_s_per_s" + at, Better::higher, 0.02, Unit::cpus},
                    [path, hierarchy](const Snapshot& s) -> std::optional<double> {
                        const CgroupSample* c = find_cgroup(s, path, hierarchy);
                        return c ? double(c->oncpu_ns) / 1e9 / interval_seconds(s) : 0.0;
                    }};
        case CgroupMetric::siblings_runq_wait_ms_per_s:
            return {{"siblings_runq_wait_ms_per_s" + at, Better::lower, 2.0, Unit::ms_per_s},
                    [path, hierarchy](const Snapshot& s) -> std::optional<double> {
                        const std::string parent = cgroup_parent(path);
                        uint64_t wait_ns = 0;
                        for (const auto& c : s.cgroups)
                            if (c.hierarchy == hierarchy && c.path != path && c.path != "/" &&
                                cgroup_parent(c.path) == parent)
                                wait_ns += c.runq_wait_ns;
                        return double(wait_ns) / 1e6 / interval_seconds(s);
                    }};
    }
    return {};
}

Metric cgroup_memory_current_bytes(const std::string& path) {
    return {{"memory_current_bytes @ cgroup:" + path, Better::lower, 1 << 20, Unit::bytes},
            [path](const Snapshot& s) -> std::optional<double> {
                const CgroupSample* c = find_cgroup(s, path, "v2");
                if (!c || c->memory.source.empty()) return std::nullopt;
                return double(c->memory.current_bytes);
            }};
}

Metric cgroup_psi_memory_some_pct(const std::string& path) {
    return {{"psi_memory_some_pct @ cgroup:" + path, Better::lower, 1.0, Unit::pct},
            [path](const Snapshot& s) -> std::optional<double> {
                const CgroupSample* c = find_cgroup(s, path, "v2");
                if (!c || !c->psi_memory.available) return std::nullopt;
                return c->psi_memory.some.interval_pct;
            }};
}

Metric refaults_file_per_s() {
    return {{"workingset_refault_file_per_s @ host", Better::lower, 10, Unit::per_s},
            [](const Snapshot& s) -> std::optional<double> {
                return double(s.system.workingset_refault_file) / interval_seconds(s);
            }};
}

Metric major_faults_per_s() {
    return {{"major_faults_per_s @ host", Better::lower, 5, Unit::per_s},
            [](const Snapshot& s) -> std::optional<double> {
                return double(s.system.major_faults) / interval_seconds(s);
            }};
}

Metric process_metric(ProcessMetric m, int pid) {
    const std::string at = " @ pid:" + std::to_string(pid);
    switch (m) {
        case ProcessMetric::runq_wait_ms_per_s:
            return {{"runq_wait_ms_per_s" + at, Better::lower, 2.0, Unit::ms_per_s},
                    [pid](const Snapshot& s) -> std::optional<double> {
                        const ProcessSample* p = find_process(s, pid);
                        return p ? double(p->runq_wait_ns) / 1e6 / interval_seconds(s) : 0.0;
                    }};
        case ProcessMetric::oncpu_s_per_s:
            return {{"oncpu_s_per_s" + at, Better::higher, 0.02, Unit::cpus},
                    [pid](const Snapshot& s) -> std::optional<double> {
                        const ProcessSample* p = find_process(s, pid);
                        return p ? double(p->oncpu_ns) / 1e9 / interval_seconds(s) : 0.0;
                    }};
        case ProcessMetric::cgroup_mates_runq_wait_ms_per_s:
            return {{"cgroup_mates_runq_wait_ms_per_s" + at, Better::lower, 2.0, Unit::ms_per_s},
                    [pid](const Snapshot& s) -> std::optional<double> {
                        const ProcessSample* me = find_process(s, pid);
                        if (!me) return 0.0;
                        uint64_t wait_ns = 0;
                        for (const auto& p : s.processes)
                            if (p.pid != pid && p.cgroup == me->cgroup) wait_ns += p.runq_wait_ns;
                        return double(wait_ns) / 1e6 / interval_seconds(s);
                    }};
    }
    return {};
}

}  // namespace perfbpf::tune

// Metrics that verify changes, sampled from one snapshot each. Rates of a device that did
// nothing in an interval are 0 (the block family reports every device that did I/O);
// ratios and latencies are left out then.
#pragma once

#include <string>

#include "tune/verify.h"

namespace perfbpf::tune {

enum class DeviceMetric {
    read_bytes_per_s,
    read_ios_per_s,
    ios_per_s,             // reads + writes
    bytes_per_s,           // reads + writes
    busy_ms_per_read_mib,  // device busy time (diskstats io_ticks) per MiB read
    read_lat_p99_us,
};

Metric device_metric(DeviceMetric m, const std::string& device);
// PSI memory "some": share of the interval some task stalled on memory.
Metric psi_memory_some_pct();
// A cgroup's memory.current (bytes) and its memory.pressure "some" (% of the interval).
Metric cgroup_memory_current_bytes(const std::string& path);
Metric cgroup_psi_memory_some_pct(const std::string& path);
// Host-wide, per second: working-set refaults of file pages, and major faults.
Metric refaults_file_per_s();
Metric major_faults_per_s();

// Per network namespace, by its snapshot name ("host" for the initial one). A namespace
// whose /proc/net/netstat could not be read has no netstat-based value.
enum class NetnsMetric {
    listen_overflows_per_s,  // TcpExt ListenOverflows
    syn_drops_per_s,         // TcpExt TCPReqQFullDrop + SyncookiesSent
    tcp_bytes_per_s,         // TCP bytes sent + received (net family)
    // TCP segments retransmitted + packets dropped (skb:kfree_skb) per MiB of TCP data
    // sent + received; none in an interval that moved less than 64 KiB
    loss_per_mib,
};
Metric netns_metric(NetnsMetric m, const std::string& netns);
// Host-wide: packets dropped with a CPU's input backlog full (the larger of softnet_stat's
// count and the CPU_BACKLOG drops of all namespaces), and all packet drops.
Metric backlog_drops_per_s();
Metric packet_drops_per_s();

// Per cgroup, by its sample's path and hierarchy ("v2", or the v1 one: "cpu", ...). A cgroup
// that is not in a snapshot ran nothing in it: 0. Siblings are the cgroups of the same
// hierarchy with the same parent path.
enum class CgroupMetric {
    runq_wait_ms_per_s,           // run-queue wait of its tasks, ms per second
    oncpu_s_per_s,                // on-CPU time of its tasks, CPUs
    siblings_runq_wait_ms_per_s,  // run-queue wait of its siblings together
};
Metric cgroup_metric(CgroupMetric m, const std::string& path, const std::string& hierarchy);
// "/a/b" -> "/a", "/a" -> "/", "/" -> "/".
std::string cgroup_parent(const std::string& path);

// Per process (thread-group id). A process that is not in a snapshot ran nothing in it: 0.
// Its cgroup mates are the other processes of the same cgroup path, whose CPU it shares by
// nice (the weight of one task group's tasks).
enum class ProcessMetric {
    runq_wait_ms_per_s,               // run-queue wait of its threads, ms per second
    oncpu_s_per_s,                    // on-CPU time of its threads, CPUs
    cgroup_mates_runq_wait_ms_per_s,  // run-queue wait of its cgroup mates together
};
Metric process_metric(ProcessMetric m, int pid);

}  // namespace perfbpf::tune

// Parsers for procfs and sysfs text. Pure functions over file contents, so unit tests feed
// them recorded text; the readers that open files take the /proc and /sys roots as
// parameters.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/snapshot.h"

namespace perfbpf {

// /proc/PID/stat (fields after the parenthesised comm, which may hold spaces and ')').
struct PidStat {
    int pid = 0;
    std::string comm;
    char state = '?';
    int ppid = 0;
    uint32_t flags = 0;  // PF_* of the task
    uint64_t minflt = 0, majflt = 0;
    uint64_t utime_ticks = 0, stime_ticks = 0;
    int num_threads = 0;
    uint64_t starttime_ticks = 0;
    uint64_t rss_pages = 0;
};
std::optional<PidStat> parse_pid_stat(std::string_view text);
// PF_KTHREAD: a kernel thread (no memory of its own, no faults, fixed cgroup and parent).
inline constexpr uint32_t kPfKthread = 0x00200000;

// /proc/stat cpu lines, in clock ticks.
struct CpuTimes {
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    uint64_t total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
};
struct ProcStat {
    CpuTimes all;
    std::vector<CpuTimes> per_cpu;  // by CPU number
    int cpu_lines = 0;              // the online CPUs: only they have a line
    uint64_t context_switches = 0;
    uint64_t processes_forked = 0;
    int procs_running = 0, procs_blocked = 0;
};
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// /proc/meminfo in bytes, by key ("MemTotal", ...).
std::map<std::string, uint64_t> parse_meminfo(std::string_view text);

// /proc/vmstat counters by name (also a cgroup's memory.stat: the same "name value" lines).
std::map<std::string, uint64_t> parse_vmstat(std::string_view text);
// Only the keys `keep` says yes to.
std::map<std::string, uint64_t> parse_vmstat(std::string_view text,
                                             bool (*keep)(std::string_view key));

// /proc/loadavg
struct LoadAvg {
    double avg[3] = {0, 0, 0};
    int running = 0, total = 0;
};
std::optional<LoadAvg> parse_loadavg(std::string_view text);

// /proc/pressure/{cpu,memory,io} or a cgroup's *.pressure file.
std::optional<Psi> parse_pressure(std::string_view text);

// Fills now.{some,full}.interval_pct: the share of an interval of interval_ns during which
// tasks stalled, from the growth of the cumulative totals (µs) since `before`, capped at
// 100. A line missing from either read, or a total that went backwards, gives 0.
void set_psi_interval(Psi& now, const Psi& before, uint64_t interval_ns);

// /proc/PID/cgroup: a process's path in each hierarchy perfbpf uses ("" where absent).
struct ProcCgroups {
    std::string v2, cpu, memory, systemd;
};
ProcCgroups parse_proc_cgroup(std::string_view proc_pid_cgroup);

// The path a process's metrics are grouped under and its hierarchy (CgroupSample::path,
// ::hierarchy): the v2 path when it is not "/", else the first non-root path among the v1
// cpu, memory and name=systemd hierarchies, else "/" (v2).
struct CgroupChoice {
    std::string path;
    std::string hierarchy;
};
CgroupChoice choose_cgroup(const ProcCgroups& c);
std::string choose_cgroup_path(std::string_view proc_pid_cgroup);

// /proc/net/netstat or /proc/net/snmp: pairs of "Prefix: names..." / "Prefix: values..."
// lines, as "Prefix:Name" -> value ("TcpExt:ListenOverflows"); with `only`, just those
// keys (a namespace's netstat has ≈120 counters, each a string allocated, read every
// interval for 8 of them).
std::map<std::string, uint64_t> parse_netstat(std::string_view text,
                                              std::span<const std::string_view> only = {});

// /proc/net/sockstat or sockstat6: the "inuse" count of the line for `protocol` ("TCP",
// "TCP6"): the namespace's sockets of that protocol, listening ones included, time-wait
// ones not. nullopt when the line or its count is missing.
std::optional<uint64_t> parse_sockstat_inuse(std::string_view text, std::string_view protocol);

// /proc/net/softnet_stat: one line of hex counters per CPU, summed.
struct SoftnetTotals {
    uint64_t processed = 0, dropped = 0, time_squeeze = 0;
};
SoftnetTotals parse_softnet_stat(std::string_view text);

// /proc/diskstats line for one device.
struct DiskStats {
    uint32_t major = 0, minor = 0;
    std::string name;
    uint64_t reads = 0, read_sectors = 0, read_ms = 0;
    uint64_t writes = 0, write_sectors = 0, write_ms = 0;
    uint64_t in_flight = 0, io_ticks_ms = 0, time_in_queue_ms = 0;
};
std::vector<DiskStats> parse_diskstats(std::string_view text);

// "MAJ:MIN" from /sys/class/block/NAME/dev.
std::optional<std::pair<uint32_t, uint32_t>> parse_dev_numbers(std::string_view text);

}  // namespace perfbpf

// A Snapshot is what perfbpf saw during one interval: plain values, no kernel handles.
// Every sink (top, JSON, Prometheus, history) renders the same Snapshot, so they never
// disagree. Byte, count and time fields are totals within the interval unless the name
// says otherwise (rss_bytes is a level at the end of the interval).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/histogram.h"
#include "model/probe_status.h"

namespace perfbpf {

struct ProcessSample {
    int pid = 0;  // thread-group id
    // Start time in clock ticks since boot (/proc/PID/stat field 22): with pid, tells a
    // reused pid from the process that had it before. 0 when /proc was never read for it.
    uint64_t start_time_ticks = 0;
    int ppid = 0;
    std::string comm;
    std::string cgroup;  // path; see CgroupSample::path
    uint64_t netns = 0;  // inode of its network namespace (NetnsSample::inode); 0 unknown
    int threads = 0;
    bool exited = false;  // exited during the interval; numbers are what it did before
    int exit_code = 0;

    // scheduler
    double cpu_pct = 0;  // 100 = one CPU for the whole interval
    uint64_t oncpu_ns = 0;
    uint64_t runq_wait_ns = 0;
    uint64_t runq_waits = 0;
    Log2Histogram runq_hist;
    double runq_lat_p99_us = 0;
    uint64_t offcpu_ns = 0;
    uint64_t vol_switches = 0;
    uint64_t invol_switches = 0;

    // block I/O submitted by the process
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t read_ios = 0;
    uint64_t write_ios = 0;
    Log2Histogram io_lat_hist;  // completion latency of its requests, when attributable
    double io_lat_p99_us = 0;

    // network
    uint64_t tcp_tx_bytes = 0;
    uint64_t tcp_rx_bytes = 0;
    uint64_t tcp_retransmits = 0;

    // memory (resident: file + anon + shmem pages). A process that exited holds nothing at
    // the end: rss_bytes 0, growth minus what it held at the previous end; what it reached
    // before exiting is in rss_peak_bytes.
    uint64_t rss_bytes = 0;        // level at the end of the interval
    int64_t rss_growth_bytes = 0;  // change within the interval
    // Highest level within the interval (from every RSS change with the mem probes; from
    // /proc alone, the larger of the levels at the interval's start and end).
    uint64_t rss_peak_bytes = 0;
    uint64_t minor_faults = 0;
    uint64_t major_faults = 0;
};

struct PsiLine {
    double avg10 = 0, avg60 = 0, avg300 = 0;  // percent
    uint64_t total_us = 0;                    // cumulative
    double interval_pct = 0;                  // share of this interval stalled
};

struct Psi {
    bool available = false;
    PsiLine some;
    std::optional<PsiLine> full;  // cpu "full" exists only on newer kernels
};

// Memory of a cgroup from its control files: levels at the end of the interval, events
// within it. cgroup v2 (memory.current, memory.high, memory.max, memory.stat) where the
// memory controller is enabled for it, else v1 (memory.usage_in_bytes,
// memory.limit_in_bytes, memory.stat's hierarchical total_* lines). A field the source
// lacks is nullopt: v1 has no memory.high, no workingset and no pgscan/pgsteal.
struct CgroupMemory {
    std::string source;       // "v2", "v1", or "" when unavailable (see `unavailable`)
    std::string unavailable;  // why there is no memory data ("" when there is)
    uint64_t current_bytes = 0;
    std::optional<uint64_t> high_bytes;  // nullopt: "max" (no limit) or v1
    std::optional<uint64_t> max_bytes;   // nullopt: no limit
    // memory.stat levels, bytes
    uint64_t anon_bytes = 0, file_bytes = 0;
    uint64_t active_anon_bytes = 0, inactive_anon_bytes = 0;
    uint64_t active_file_bytes = 0, inactive_file_bytes = 0;
    // memory.stat events within the interval
    std::optional<uint64_t> workingset_refault_anon, workingset_refault_file;  // pages
    std::optional<uint64_t> pgscan, pgsteal;                                   // pages
    uint64_t pgmajfault = 0;
    // memory.events "high" within the interval: how often use went over memory.high (the
    // kernel then reclaims and throttles); v2 only.
    std::optional<uint64_t> high_events;
};

struct CgroupSample {
    // v2 path relative to the cgroup2 mount ("/system.slice/x.service"); on a v1 or hybrid
    // host where the v2 path is "/", the path in the cpu (or memory, name=systemd) v1
    // hierarchy.
    std::string path;
    // Which hierarchy `path` is in: "v2", or the v1 one: "cpu", "memory", "name=systemd".
    std::string hierarchy = "v2";
    // Paths of its processes in the v1 cpu and memory hierarchies, where those are mounted
    // ("" otherwise): where cpu.shares and memory.limit_in_bytes live on v1/hybrid hosts.
    std::string v1_cpu_path, v1_memory_path;
    int processes = 0;
    double cpu_pct = 0;
    uint64_t oncpu_ns = 0;
    uint64_t offcpu_ns = 0;
    uint64_t runq_wait_ns = 0;
    uint64_t runq_waits = 0;  // waits in the run queue: wakeups and preemptions
    Log2Histogram runq_hist;
    double runq_lat_p99_us = 0;
    uint64_t vol_switches = 0;  // voluntary switches: sleeps (each ends in a wakeup)
    uint64_t invol_switches = 0;
    // On-CPU time per voluntary switch: how long its tasks run before sleeping. Short for
    // latency-sensitive work; a task that never slept counts its whole on-CPU time.
    double burst_avg_us = 0;
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t tcp_tx_bytes = 0;
    uint64_t tcp_rx_bytes = 0;
    uint64_t tcp_retransmits = 0;
    uint64_t rss_bytes = 0;
    int64_t rss_growth_bytes = 0;
    // cpu.pressure, memory.pressure, io.pressure (cgroup v2 only; interval_pct as for the
    // system's). Not available when the cgroup is only known in a v1 hierarchy.
    Psi psi_cpu, psi_memory, psi_io;
    std::string psi_unavailable;  // why not, when not available
    CgroupMemory memory;
};

struct DeviceSample {
    std::string name;  // "sda", "loop3", "nvme0n1"
    uint32_t major = 0;
    uint32_t minor = 0;
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t read_ios = 0;
    uint64_t write_ios = 0;
    uint64_t other_ios = 0;  // flush, discard, ...
    // Requests that started where one of the device's recent requests (of up to
    // PERFBPF_BLK_STREAMS interleaved streams) ended: the sequential share of read_ios /
    // write_ios. Counted at issue, so within an interval it can exceed the completions.
    uint64_t read_seq_ios = 0;
    uint64_t write_seq_ios = 0;
    Log2Histogram lat_hist;  // issue/start -> completion, every request
    Log2Histogram read_lat_hist;
    Log2Histogram write_lat_hist;
    // Where lat_hist's samples started: "issue" (the kernel's dispatch stamp), "issue-probe"
    // (stamped by the probe on queues without I/O stats), "alloc" (request allocation,
    // includes queueing), '+'-joined when mixed; "" when there were no samples.
    std::string lat_source;
    double lat_p50_us = 0;
    double lat_p99_us = 0;
    double read_lat_p99_us = 0;
    double write_lat_p99_us = 0;
    uint64_t inflight_max = 0;   // highest in-flight depth seen in the interval
    double util_pct = 0;         // time with I/O in flight (from diskstats io_ticks)
    double avg_queue_depth = 0;  // time-weighted (from diskstats time_in_queue)
};

struct CpuSample {
    int cpu = 0;
    double busy_pct = 0;
    uint64_t runq_wait_ns = 0;
    uint64_t runq_waits = 0;
    Log2Histogram runq_hist;
    double runq_lat_p99_us = 0;
    double runq_avg_waiting = 0;  // Little's law: run-queue wait time / interval
    double nr_running_avg = 0;    // sampled, incl. the running task; 0 when not sampled
};

struct SystemSample {
    std::string kernel;
    int ncpus = 0;
    double loadavg[3] = {0, 0, 0};
    int running = 0;  // from /proc/loadavg
    int total_tasks = 0;
    // /proc/stat, percent of all CPUs
    double cpu_user_pct = 0, cpu_system_pct = 0, cpu_iowait_pct = 0, cpu_irq_pct = 0,
           cpu_steal_pct = 0, cpu_idle_pct = 0;
    double cpu_busy_pct = 0;
    uint64_t context_switches = 0;
    uint64_t mem_total_bytes = 0, mem_available_bytes = 0, mem_free_bytes = 0, swap_total_bytes = 0,
             swap_free_bytes = 0;
    uint64_t major_faults = 0, minor_faults = 0;  // /proc/vmstat, within the interval
    uint64_t pages_swapped_in = 0, pages_swapped_out = 0;
    // Reclaim, /proc/vmstat, within the interval, in pages: scanned and reclaimed by
    // kswapd and by allocating tasks (direct reclaim), and refaults of pages reclaimed
    // recently (the working set did not fit); allocstall: direct reclaim entries.
    uint64_t pgscan_kswapd = 0, pgscan_direct = 0, pgsteal_kswapd = 0, pgsteal_direct = 0;
    uint64_t workingset_refault_anon = 0, workingset_refault_file = 0;
    uint64_t allocstall = 0;
    Psi psi_cpu, psi_memory, psi_io;
    // run-queue latency over all CPUs
    Log2Histogram runq_hist;
    double runq_lat_p99_us = 0;
    // network
    uint64_t tcp_retransmits = 0;               // segments, as RetransSegs counts them
    uint64_t tcp_retransmits_unattributed = 0;  // of those, on sockets with no known owner
    // /proc/net/snmp Tcp OutSegs within the interval (host namespace): the denominator of a
    // retransmit rate (retransmits per segment sent).
    uint64_t tcp_out_segs = 0;
    uint64_t tcp_tx_bytes = 0, tcp_rx_bytes = 0;
    uint64_t tcp_state_changes = 0;
    uint64_t tcp_resets = 0;  // transitions to CLOSE from ESTABLISHED etc.
    std::map<std::string, uint64_t> tcp_states_entered;  // "ESTABLISHED" -> count
    std::map<std::string, uint64_t> packet_drops;        // drop reason -> count
    uint64_t packet_drops_total = 0;
    // /proc/net/softnet_stat, all CPUs, within the interval: packets dropped because a
    // CPU's input backlog was full (net.core.netdev_max_backlog, a host-wide setting), and
    // times the receive softirq ran out of budget with work left (net.core.netdev_budget).
    uint64_t softnet_backlog_drops = 0;
    uint64_t softnet_time_squeeze = 0;
    // from tcp:tcp_probe (one sample per incoming ACK), when it fired
    uint64_t tcp_rtt_samples = 0;
    double tcp_srtt_p99_us = 0;
    double tcp_cwnd_avg_segs = 0;  // mean congestion window over the samples
};

// One network namespace: where per-namespace settings such as net.ipv4.tcp_rmem/tcp_wmem,
// net.core.somaxconn and net.ipv4.tcp_max_syn_backlog apply. BPF counters are attributed
// to the namespace of the socket (or, for drops without one, of the device).
struct NetnsSample {
    uint64_t inode = 0;  // as /proc/PID/ns/net shows it ("net:[INODE]")
    // "host" (the initial namespace: pid 1's), its `ip netns` name, or "". Inode 0
    // collects drops whose namespace could not be told.
    std::string name;
    int pid = 0;  // a process in it (setns via /proc/PID/ns/net), 0 when none known
    int processes = 0;
    // TCP bytes moved by send/receive calls, segments retransmitted
    uint64_t tcp_tx_bytes = 0, tcp_rx_bytes = 0, tcp_retransmits = 0;
    std::map<std::string, uint64_t> packet_drops;  // skb:kfree_skb reason -> count
    uint64_t packet_drops_total = 0;
    uint64_t cpu_backlog_drops = 0;  // drops with reason CPU_BACKLOG (netdev_max_backlog)
    // sock:sock_rcvqueue_full: a datagram or raw socket's queue was at its SO_RCVBUF
    uint64_t rcvqueue_full = 0;
    // sock:sock_exceed_buf_limit by kind: protocol memory (tcp_mem, udp_mem) or the
    // socket's cgroup refused a send or receive buffer
    uint64_t mem_limit_send = 0, mem_limit_recv = 0;
    // tcp:tcp_rcvbuf_grow (6.18 has it, 6.1 not; nullopt where missing): receive-buffer
    // autotuning wanted a larger buffer; of those, with the buffer already at this
    // namespace's tcp_rmem max, and on sockets whose SO_RCVBUF disables autotuning (their
    // limit is net.core.rmem_max).
    std::optional<uint64_t> rcvbuf_grow, rcvbuf_grow_at_max, rcvbuf_grow_locked;
    // tcp:tcp_probe, at most one segment per jiffy and CPU: smoothed RTT and averages of the peer's
    // window, our window, the socket buffers, bytes in flight and the bandwidth-delay
    // product (last delivery rate x srtt); samples where the peer's window limited the
    // sender, where the send buffer was full, and where the buffers were at this
    // namespace's tcp_wmem/tcp_rmem max.
    uint64_t tcp_samples = 0;
    Log2Histogram srtt_hist;
    double srtt_p50_us = 0, srtt_p99_us = 0;
    uint64_t snd_wnd_avg_bytes = 0, rcv_wnd_avg_bytes = 0;
    uint64_t sndbuf_avg_bytes = 0, rcvbuf_avg_bytes = 0;
    uint64_t inflight_avg_bytes = 0, bdp_avg_bytes = 0;
    uint64_t rwnd_limited_samples = 0, sndbuf_limited_samples = 0;
    uint64_t sndbuf_at_max_samples = 0, rcvbuf_at_max_samples = 0;
    // The namespace's /proc/net/netstat (TcpExt), within the interval: connections the
    // accept queue had no room for (somaxconn / listen backlog) and all listener drops;
    // SYNs dropped with the SYN queue full (tcp_max_syn_backlog) and SYN cookies sent;
    // segments dropped at the receive queue and socket backlog, queue prunes, and
    // entries into TCP memory pressure (tcp_mem).
    bool netstat_available = false;
    std::string netstat_unavailable;  // why not
    uint64_t listen_overflows = 0, listen_drops = 0;
    uint64_t syn_queue_drops = 0, syncookies_sent = 0;
    uint64_t rcvq_drops = 0, backlog_drops = 0, prune_called = 0, memory_pressures = 0;
    // The kernel's own account of what held TCP senders back (tcp_info's chrono counters,
    // read with sock_diag each interval), µs within the interval. Of this namespace's
    // sockets that had data to send: their connection time (the interval, for each such
    // socket), their time with data to send, and of that the time the peer's receive window
    // or the socket's send buffer stopped them. The peer_ fields are the same for the
    // senders on this machine (any namespace read) whose receiving end is in this one: what
    // a larger receive buffer here would free.
    bool tcp_info_available = false;
    std::string tcp_info_unavailable;  // why not
    uint64_t tcp_send_us = 0, tcp_busy_us = 0, tcp_rwnd_limited_us = 0, tcp_sndbuf_limited_us = 0;
    uint64_t tcp_peer_send_us = 0, tcp_peer_busy_us = 0, tcp_peer_rwnd_limited_us = 0;
};

// One mounted filesystem, as statfs() saw it at the end of the interval. Bind mounts of the
// same filesystem are one sample (the first mount of its device in mountinfo).
struct FilesystemSample {
    std::string mountpoint;  // "/", "/var/lib/docker"
    std::string device;      // mount source without "/dev/" ("vda1", "mapper/vg-root", "overlay")
    std::string fstype;      // "ext4", "xfs", "btrfs", "overlay"
    uint64_t size_bytes = 0;
    uint64_t used_bytes = 0;    // size minus free (free includes the root-reserved blocks)
    uint64_t avail_bytes = 0;   // free to unprivileged users: what `df` shows as Avail
    uint64_t inodes_total = 0;  // 0 where the filesystem has no fixed inode count (btrfs)
    uint64_t inodes_used = 0;
};

struct OomKill {
    int pid = 0;
    std::string comm;
    uint64_t rss_bytes = 0;
    uint64_t ts_ns = 0;
};

// Data perfbpf could not see; always shown, so a quiet table is never mistaken for a quiet
// system.
struct DropCounters {
    std::map<std::string, uint64_t> by_kind;  // within the interval
    uint64_t total = 0;
};

struct Snapshot {
    uint64_t interval_ns = 0;
    uint64_t end_monotonic_ns = 0;
    int64_t end_unix_ms = 0;
    SystemSample system;
    std::vector<ProcessSample> processes;
    std::vector<CgroupSample> cgroups;
    std::vector<DeviceSample> devices;
    std::vector<CpuSample> cpus;
    std::vector<NetnsSample> netns;
    std::vector<FilesystemSample> filesystems;
    std::vector<OomKill> oom_kills;
    DropCounters drops;
    std::vector<ProbeStatus> probes;
};

}  // namespace perfbpf

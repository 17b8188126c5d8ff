#include "model/catalogue.h"

namespace perfbpf {

using enum FieldKind;
using enum JsonPlace;

std::optional<MetricKind> metric_kind(FieldKind k) {
    switch (k) {
        case counter:
            return MetricKind::counter;
        case gauge:
            return MetricKind::gauge;
        case level:
            return MetricKind::level;
        case histogram:
            return MetricKind::histogram;
        default:
            return std::nullopt;
    }
}

std::string joined_name(std::string_view outer, std::string_view inner) {
    std::string out(outer);
    out += '_';
    out += inner;
    return out;
}

// One line per field (clang-format would wrap them).
// clang-format off

template <>
std::span<const Field<PsiLine>> fields<PsiLine>() {
    using L = PsiLine;
    static const Field<L> t[] = {
        {"avg10", "pct", level, "share of the last 10 s stalled (kernel running average)", &L::avg10},
        {"avg60", "pct", level, "share of the last 60 s stalled (kernel running average)", &L::avg60},
        {"avg300", "pct", level, "share of the last 300 s stalled (kernel running average)", &L::avg300},
        {"total_us", "us", level, "time stalled since boot (cumulative)", &L::total_us},
        {"interval_pct", "pct", gauge, "share of this interval stalled", &L::interval_pct},
    };
    return t;
}

template <>
std::span<const Field<Psi>> fields<Psi>() {
    static const Field<Psi> t[] = {
        {"available", "", info, "pressure stall information could be read", &Psi::available, implied},
        {"some", "", nested, "some task stalled", &Psi::some},
        {"full", "", nested, "all non-idle tasks stalled (cpu: newer kernels only)", &Psi::full},
    };
    return t;
}

template <>
std::span<const Field<CgroupMemory>> fields<CgroupMemory>() {
    using M = CgroupMemory;
    static const Field<M> t[] = {
        {"source", "", info, "control files read: v2, v1, or empty when unavailable", &M::source, presence},
        {"unavailable", "", info, "why there is no memory data (empty when there is)", &M::unavailable, beside},
        {"current_bytes", "bytes", level, "memory in use (memory.current / usage_in_bytes)", &M::current_bytes},
        {"high_bytes", "bytes", level, "memory.high; null when max or on v1", &M::high_bytes},
        {"max_bytes", "bytes", level, "memory limit; null when none", &M::max_bytes},
        {"anon_bytes", "bytes", level, "anonymous memory (memory.stat)", &M::anon_bytes},
        {"file_bytes", "bytes", level, "page cache (memory.stat)", &M::file_bytes},
        {"active_anon_bytes", "bytes", level, "active anonymous memory", &M::active_anon_bytes},
        {"inactive_anon_bytes", "bytes", level, "inactive anonymous memory", &M::inactive_anon_bytes},
        {"active_file_bytes", "bytes", level, "active page cache", &M::active_file_bytes},
        {"inactive_file_bytes", "bytes", level, "inactive page cache", &M::inactive_file_bytes},
        {"workingset_refault_anon", "pages", counter, "refaults of recently reclaimed anonymous pages (v2)", &M::workingset_refault_anon},
        {"workingset_refault_file", "pages", counter, "refaults of recently reclaimed file pages (v2)", &M::workingset_refault_file},
        {"pgscan", "pages", counter, "pages scanned by reclaim (v2)", &M::pgscan},
        {"pgsteal", "pages", counter, "pages reclaimed (v2)", &M::pgsteal},
        {"pgmajfault", "count", counter, "major page faults", &M::pgmajfault},
        {"high_events", "count", counter, "times use went over memory.high (v2)", &M::high_events},
    };
    return t;
}

template <>
std::span<const Field<ProcessSample>> fields<ProcessSample>() {
    using P = ProcessSample;
    static const Field<P> t[] = {
        {"pid", "", identity, "thread-group id", &P::pid},
        {"start_time_ticks", "ticks", identity, "start time in clock ticks since boot (/proc/PID/stat field 22); 0 unknown", &P::start_time_ticks},
        {"ppid", "", info, "parent's pid", &P::ppid},
        {"comm", "", label, "command name", &P::comm},
        {"cgroup", "", label, "cgroup path (see cgroups[].path)", &P::cgroup},
        {"netns", "", info, "inode of its network namespace; 0 unknown", &P::netns},
        {"threads", "count", level, "threads", &P::threads},
        {"exited", "", info, "exited during the interval; numbers are what it did before", &P::exited},
        {"exit_code", "", info, "exit code, when exited", &P::exit_code},
        {"cpu_pct", "pct", gauge, "CPU use; 100 = one CPU for the whole interval", &P::cpu_pct},
        {"oncpu_ns", "ns", counter, "time on a CPU", &P::oncpu_ns},
        {"runq_wait_ns", "ns", counter, "time runnable but waiting for a CPU", &P::runq_wait_ns},
        {"runq_waits", "count", counter, "waits in the run queue", &P::runq_waits},
        {"runq_lat_p99_us", "us", gauge, "99th percentile run-queue wait", &P::runq_lat_p99_us},
        {"runq_hist", "us", histogram, "run-queue waits", &P::runq_hist},
        {"offcpu_ns", "ns", counter, "time sleeping or blocked", &P::offcpu_ns},
        {"vol_switches", "count", counter, "voluntary context switches (sleeps)", &P::vol_switches},
        {"invol_switches", "count", counter, "involuntary context switches (preemptions)", &P::invol_switches},
        {"read_bytes", "bytes", counter, "block I/O read, submitted by the process", &P::read_bytes},
        {"write_bytes", "bytes", counter, "block I/O written, submitted by the process", &P::write_bytes},
        {"read_ios", "count", counter, "block read requests", &P::read_ios},
        {"write_ios", "count", counter, "block write requests", &P::write_ios},
        {"io_lat_p99_us", "us", gauge, "99th percentile completion latency of its block requests", &P::io_lat_p99_us},
        {"io_lat_hist", "us", histogram, "completion latency of its block requests, when attributable", &P::io_lat_hist},
        {"tcp_tx_bytes", "bytes", counter, "TCP bytes sent", &P::tcp_tx_bytes},
        {"tcp_rx_bytes", "bytes", counter, "TCP bytes received", &P::tcp_rx_bytes},
        {"tcp_retransmits", "count", counter, "TCP segments retransmitted", &P::tcp_retransmits},
        {"rss_bytes", "bytes", level, "resident memory (file + anon + shmem) at the end; 0 once exited", &P::rss_bytes},
        {"rss_growth_bytes", "bytes", counter, "change of resident memory within the interval", &P::rss_growth_bytes},
        {"rss_peak_bytes", "bytes", gauge, "highest resident memory within the interval", &P::rss_peak_bytes},
        {"minor_faults", "count", counter, "minor page faults", &P::minor_faults},
        {"major_faults", "count", counter, "major page faults", &P::major_faults},
    };
    return t;
}

template <>
std::span<const Field<CgroupSample>> fields<CgroupSample>() {
    using C = CgroupSample;
    static const Field<C> t[] = {
        {"path", "", identity, "path relative to the cgroup2 mount (or the v1 hierarchy's)", &C::path},
        {"hierarchy", "", info, "hierarchy of path: v2, cpu, memory or name=systemd", &C::hierarchy},
        {"v1_cpu_path", "", info, "its processes' path in the v1 cpu hierarchy", &C::v1_cpu_path},
        {"v1_memory_path", "", info, "its processes' path in the v1 memory hierarchy", &C::v1_memory_path},
        {"processes", "count", level, "processes seen in it", &C::processes},
        {"cpu_pct", "pct", gauge, "CPU use; 100 = one CPU for the whole interval", &C::cpu_pct},
        {"oncpu_ns", "ns", counter, "time on a CPU", &C::oncpu_ns},
        {"offcpu_ns", "ns", counter, "time sleeping or blocked", &C::offcpu_ns},
        {"runq_wait_ns", "ns", counter, "time runnable but waiting for a CPU", &C::runq_wait_ns},
        {"runq_waits", "count", counter, "waits in the run queue: wakeups and preemptions", &C::runq_waits},
        {"runq_lat_p99_us", "us", gauge, "99th percentile run-queue wait", &C::runq_lat_p99_us},
        {"runq_hist", "us", histogram, "run-queue waits", &C::runq_hist},
        {"vol_switches", "count", counter, "voluntary switches: sleeps", &C::vol_switches},
        {"invol_switches", "count", counter, "involuntary switches: preemptions", &C::invol_switches},
        {"burst_avg_us", "us", gauge, "on-CPU time per voluntary switch", &C::burst_avg_us},
        {"read_bytes", "bytes", counter, "block I/O read by its processes", &C::read_bytes},
        {"write_bytes", "bytes", counter, "block I/O written by its processes", &C::write_bytes},
        {"tcp_tx_bytes", "bytes", counter, "TCP bytes sent", &C::tcp_tx_bytes},
        {"tcp_rx_bytes", "bytes", counter, "TCP bytes received", &C::tcp_rx_bytes},
        {"tcp_retransmits", "count", counter, "TCP segments retransmitted", &C::tcp_retransmits},
        {"rss_bytes", "bytes", level, "resident memory of its processes at the end", &C::rss_bytes},
        {"rss_growth_bytes", "bytes", counter, "change of its processes' resident memory", &C::rss_growth_bytes},
        {"psi_cpu", "", nested, "cpu.pressure (v2 only)", &C::psi_cpu},
        {"psi_memory", "", nested, "memory.pressure (v2 only)", &C::psi_memory},
        {"psi_io", "", nested, "io.pressure (v2 only)", &C::psi_io},
        {"psi_unavailable", "", info, "why there is no pressure data", &C::psi_unavailable},
        {"memory", "", nested, "memory from its control files", &C::memory},
    };
    return t;
}

template <>
std::span<const Field<DeviceSample>> fields<DeviceSample>() {
    using D = DeviceSample;
    static const Field<D> t[] = {
        {"name", "", identity, "block device name (sda, nvme0n1)", &D::name},
        {"major", "", identity, "device major number", &D::major},
        {"minor", "", identity, "device minor number", &D::minor},
        {"read_bytes", "bytes", counter, "bytes read", &D::read_bytes},
        {"write_bytes", "bytes", counter, "bytes written", &D::write_bytes},
        {"read_ios", "count", counter, "read requests completed", &D::read_ios},
        {"write_ios", "count", counter, "write requests completed", &D::write_ios},
        {"other_ios", "count", counter, "other requests (flush, discard)", &D::other_ios},
        {"read_seq_ios", "count", counter, "reads starting where a recent request ended (counted at issue)", &D::read_seq_ios},
        {"write_seq_ios", "count", counter, "writes starting where a recent request ended (counted at issue)", &D::write_seq_ios},
        {"lat_p50_us", "us", gauge, "median request latency", &D::lat_p50_us},
        {"lat_p99_us", "us", gauge, "99th percentile request latency", &D::lat_p99_us},
        {"read_lat_p99_us", "us", gauge, "99th percentile read latency", &D::read_lat_p99_us},
        {"write_lat_p99_us", "us", gauge, "99th percentile write latency", &D::write_lat_p99_us},
        {"lat_hist", "us", histogram, "request latency, issue/start to completion", &D::lat_hist},
        {"read_lat_hist", "us", histogram, "read latency", &D::read_lat_hist},
        {"write_lat_hist", "us", histogram, "write latency", &D::write_lat_hist},
        {"lat_source", "", info, "where latency samples started: issue, issue-probe, alloc ('+'-joined)", &D::lat_source},
        {"inflight_max", "count", gauge, "highest in-flight depth seen", &D::inflight_max},
        {"util_pct", "pct", gauge, "time with I/O in flight (diskstats io_ticks)", &D::util_pct},
        {"avg_queue_depth", "count", gauge, "time-weighted queue depth (diskstats time_in_queue)", &D::avg_queue_depth},
    };
    return t;
}

template <>
std::span<const Field<CpuSample>> fields<CpuSample>() {
    using C = CpuSample;
    static const Field<C> t[] = {
        {"cpu", "", identity, "CPU number", &C::cpu},
        {"busy_pct", "pct", gauge, "time not idle", &C::busy_pct},
        {"runq_wait_ns", "ns", counter, "time tasks waited in its run queue", &C::runq_wait_ns},
        {"runq_waits", "count", counter, "waits in its run queue", &C::runq_waits},
        {"runq_lat_p99_us", "us", gauge, "99th percentile run-queue wait", &C::runq_lat_p99_us},
        {"runq_hist", "us", histogram, "run-queue waits", &C::runq_hist},
        {"runq_avg_waiting", "tasks", gauge, "tasks waiting on average (run-queue wait time / interval)", &C::runq_avg_waiting},
        {"nr_running_avg", "tasks", gauge, "runnable tasks incl. the running one, sampled; 0 when not sampled", &C::nr_running_avg},
    };
    return t;
}

template <>
std::span<const Field<SystemSample>> fields<SystemSample>() {
    using S = SystemSample;
    static const Field<S> t[] = {
        {"kernel", "", info, "kernel release", &S::kernel},
        {"ncpus", "count", level, "online CPUs", &S::ncpus},
        {"loadavg", "tasks", level, "load average over 1, 5 and 15 minutes", &S::loadavg},
        {"running", "tasks", level, "runnable tasks (/proc/loadavg)", &S::running},
        {"total_tasks", "tasks", level, "tasks (/proc/loadavg)", &S::total_tasks},
        {"cpu_user_pct", "pct", gauge, "user time, percent of all CPUs", &S::cpu_user_pct},
        {"cpu_system_pct", "pct", gauge, "system time, percent of all CPUs", &S::cpu_system_pct},
        {"cpu_iowait_pct", "pct", gauge, "iowait time, percent of all CPUs", &S::cpu_iowait_pct},
        {"cpu_irq_pct", "pct", gauge, "irq and softirq time, percent of all CPUs", &S::cpu_irq_pct},
        {"cpu_steal_pct", "pct", gauge, "steal time, percent of all CPUs", &S::cpu_steal_pct},
        {"cpu_idle_pct", "pct", gauge, "idle time, percent of all CPUs", &S::cpu_idle_pct},
        {"cpu_busy_pct", "pct", gauge, "time not idle, percent of all CPUs", &S::cpu_busy_pct},
        {"context_switches", "count", counter, "context switches", &S::context_switches},
        {"mem_total_bytes", "bytes", level, "MemTotal", &S::mem_total_bytes},
        {"mem_available_bytes", "bytes", level, "MemAvailable", &S::mem_available_bytes},
        {"mem_free_bytes", "bytes", level, "MemFree", &S::mem_free_bytes},
        {"swap_total_bytes", "bytes", level, "SwapTotal", &S::swap_total_bytes},
        {"swap_free_bytes", "bytes", level, "SwapFree", &S::swap_free_bytes},
        {"major_faults", "count", counter, "major page faults (/proc/vmstat)", &S::major_faults},
        {"minor_faults", "count", counter, "minor page faults (/proc/vmstat)", &S::minor_faults},
        {"pages_swapped_in", "pages", counter, "pages swapped in", &S::pages_swapped_in},
        {"pages_swapped_out", "pages", counter, "pages swapped out", &S::pages_swapped_out},
        {"pgscan_kswapd", "pages", counter, "pages scanned by kswapd", &S::pgscan_kswapd},
        {"pgscan_direct", "pages", counter, "pages scanned by direct reclaim", &S::pgscan_direct},
        {"pgsteal_kswapd", "pages", counter, "pages reclaimed by kswapd", &S::pgsteal_kswapd},
        {"pgsteal_direct", "pages", counter, "pages reclaimed by direct reclaim", &S::pgsteal_direct},
        {"workingset_refault_anon", "pages", counter, "refaults of recently reclaimed anonymous pages", &S::workingset_refault_anon},
        {"workingset_refault_file", "pages", counter, "refaults of recently reclaimed file pages", &S::workingset_refault_file},
        {"allocstall", "count", counter, "direct reclaim entries", &S::allocstall},
        {"psi_cpu", "", nested, "/proc/pressure/cpu", &S::psi_cpu},
        {"psi_memory", "", nested, "/proc/pressure/memory", &S::psi_memory},
        {"psi_io", "", nested, "/proc/pressure/io", &S::psi_io},
        {"runq_lat_p99_us", "us", gauge, "99th percentile run-queue wait over all CPUs", &S::runq_lat_p99_us},
        {"runq_hist", "us", histogram, "run-queue waits over all CPUs", &S::runq_hist},
        {"tcp_retransmits", "count", counter, "TCP segments retransmitted (RetransSegs)", &S::tcp_retransmits},
        {"tcp_retransmits_unattributed", "count", counter, "retransmits on sockets with no known owner", &S::tcp_retransmits_unattributed},
        {"tcp_out_segs", "count", counter, "TCP segments sent (OutSegs, /proc/net/snmp)", &S::tcp_out_segs},
        {"tcp_tx_bytes", "bytes", counter, "TCP bytes sent", &S::tcp_tx_bytes},
        {"tcp_rx_bytes", "bytes", counter, "TCP bytes received", &S::tcp_rx_bytes},
        {"tcp_state_changes", "count", counter, "TCP state transitions", &S::tcp_state_changes},
        {"tcp_resets", "count", counter, "transitions to CLOSE from ESTABLISHED etc.", &S::tcp_resets},
        {"tcp_states_entered", "count", counter, "TCP states entered, by state", &S::tcp_states_entered, key, "state"},
        {"packet_drops", "count", counter, "packets dropped, by drop reason", &S::packet_drops, key, "reason"},
        {"packet_drops_total", "count", counter, "packets dropped", &S::packet_drops_total},
        {"softnet_backlog_drops", "count", counter, "packets dropped with a CPU's input backlog full", &S::softnet_backlog_drops},
        {"softnet_time_squeeze", "count", counter, "receive softirq ran out of budget with work left", &S::softnet_time_squeeze},
        {"tcp_rtt_samples", "count", counter, "tcp:tcp_probe samples (incoming ACKs)", &S::tcp_rtt_samples},
        {"tcp_srtt_p99_us", "us", gauge, "99th percentile smoothed RTT", &S::tcp_srtt_p99_us},
        {"tcp_cwnd_avg_segs", "segs", gauge, "mean congestion window over the samples", &S::tcp_cwnd_avg_segs},
    };
    return t;
}

template <>
std::span<const Field<NetnsSample>> fields<NetnsSample>() {
    using N = NetnsSample;
    static const Field<N> t[] = {
        {"inode", "", identity, "namespace inode (/proc/PID/ns/net); 0 collects drops of unknown namespace", &N::inode},
        {"name", "", identity, "host, its ip netns name, or empty", &N::name},
        {"pid", "", info, "a process in it, 0 when none known", &N::pid},
        {"processes", "count", level, "processes in it", &N::processes},
        {"tcp_tx_bytes", "bytes", counter, "TCP bytes sent", &N::tcp_tx_bytes},
        {"tcp_rx_bytes", "bytes", counter, "TCP bytes received", &N::tcp_rx_bytes},
        {"tcp_retransmits", "count", counter, "TCP segments retransmitted", &N::tcp_retransmits},
        {"packet_drops", "count", counter, "packets dropped, by skb:kfree_skb reason", &N::packet_drops, key, "reason"},
        {"packet_drops_total", "count", counter, "packets dropped", &N::packet_drops_total},
        {"cpu_backlog_drops", "count", counter, "drops with reason CPU_BACKLOG (netdev_max_backlog)", &N::cpu_backlog_drops},
        {"rcvqueue_full", "count", counter, "datagram or raw socket queue at its SO_RCVBUF", &N::rcvqueue_full},
        {"mem_limit_send", "count", counter, "send buffers refused by protocol or cgroup memory limits", &N::mem_limit_send},
        {"mem_limit_recv", "count", counter, "receive buffers refused by protocol or cgroup memory limits", &N::mem_limit_recv},
        {"rcvbuf_grow", "count", counter, "receive-buffer autotuning wanted a larger buffer; null where the kernel lacks it", &N::rcvbuf_grow},
        {"rcvbuf_grow_at_max", "count", counter, "of those, with the buffer at tcp_rmem max", &N::rcvbuf_grow_at_max},
        {"rcvbuf_grow_locked", "count", counter, "of those, on sockets with SO_RCVBUF set", &N::rcvbuf_grow_locked},
        {"tcp_samples", "count", counter, "tcp:tcp_probe samples", &N::tcp_samples},
        {"srtt_p50_us", "us", gauge, "median smoothed RTT", &N::srtt_p50_us},
        {"srtt_p99_us", "us", gauge, "99th percentile smoothed RTT", &N::srtt_p99_us},
        {"srtt_hist", "us", histogram, "smoothed RTT", &N::srtt_hist},
        {"snd_wnd_avg_bytes", "bytes", gauge, "mean peer's receive window", &N::snd_wnd_avg_bytes},
        {"rcv_wnd_avg_bytes", "bytes", gauge, "mean own receive window", &N::rcv_wnd_avg_bytes},
        {"sndbuf_avg_bytes", "bytes", gauge, "mean send buffer", &N::sndbuf_avg_bytes},
        {"rcvbuf_avg_bytes", "bytes", gauge, "mean receive buffer", &N::rcvbuf_avg_bytes},
        {"inflight_avg_bytes", "bytes", gauge, "mean bytes in flight", &N::inflight_avg_bytes},
        {"bdp_avg_bytes", "bytes", gauge, "mean bandwidth-delay product (delivery rate x srtt)", &N::bdp_avg_bytes},
        {"rwnd_limited_samples", "count", counter, "samples where the peer's window limited the sender", &N::rwnd_limited_samples},
        {"sndbuf_limited_samples", "count", counter, "samples with the send buffer full", &N::sndbuf_limited_samples},
        {"sndbuf_at_max_samples", "count", counter, "samples with the send buffer at tcp_wmem max", &N::sndbuf_at_max_samples},
        {"rcvbuf_at_max_samples", "count", counter, "samples with the receive buffer at tcp_rmem max", &N::rcvbuf_at_max_samples},
        {"netstat_available", "", info, "its /proc/net/netstat could be read", &N::netstat_available},
        {"netstat_unavailable", "", info, "why not", &N::netstat_unavailable},
        {"listen_overflows", "count", counter, "connections the accept queue had no room for", &N::listen_overflows},
        {"listen_drops", "count", counter, "listener drops", &N::listen_drops},
        {"syn_queue_drops", "count", counter, "SYNs dropped with the SYN queue full", &N::syn_queue_drops},
        {"syncookies_sent", "count", counter, "SYN cookies sent", &N::syncookies_sent},
        {"rcvq_drops", "count", counter, "segments dropped at the receive queue", &N::rcvq_drops},
        {"backlog_drops", "count", counter, "segments dropped at the socket backlog", &N::backlog_drops},
        {"prune_called", "count", counter, "receive queue prunes", &N::prune_called},
        {"memory_pressures", "count", counter, "entries into TCP memory pressure (tcp_mem)", &N::memory_pressures},
        {"tcp_info_available", "", info, "its TCP sockets' tcp_info could be read (sock_diag)", &N::tcp_info_available},
        {"tcp_info_unavailable", "", info, "why not", &N::tcp_info_unavailable},
        {"tcp_send_us", "us", counter, "connection time of sockets with data to send", &N::tcp_send_us},
        {"tcp_busy_us", "us", counter, "time sockets had data to send", &N::tcp_busy_us},
        {"tcp_rwnd_limited_us", "us", counter, "time senders waited for the peer's receive window", &N::tcp_rwnd_limited_us},
        {"tcp_sndbuf_limited_us", "us", counter, "time senders waited for send buffer space", &N::tcp_sndbuf_limited_us},
        {"tcp_peer_send_us", "us", counter, "connection time of this machine's senders to this namespace", &N::tcp_peer_send_us},
        {"tcp_peer_busy_us", "us", counter, "time this machine's senders to this namespace had data to send", &N::tcp_peer_busy_us},
        {"tcp_peer_rwnd_limited_us", "us", counter, "time this machine's senders waited for this namespace's receive window", &N::tcp_peer_rwnd_limited_us},
    };
    return t;
}

// The metrics carry an fs_ prefix: "size_bytes" or "used_bytes" alone would not say of what
// in a query or on /metrics.
template <>
std::span<const Field<FilesystemSample>> fields<FilesystemSample>() {
    using F = FilesystemSample;
    static const Field<F> t[] = {
        {"mountpoint", "", identity, "where it is mounted (the first mount of its device)", &F::mountpoint},
        {"device", "", identity, "mount source without /dev/ (vda1, mapper/vg-root, overlay)", &F::device},
        {"fstype", "", info, "filesystem type (ext4, xfs, btrfs, overlay)", &F::fstype},
        {"fs_size_bytes", "bytes", level, "size (statfs f_blocks)", &F::size_bytes},
        {"fs_used_bytes", "bytes", level, "used: size minus free, the root-reserved blocks counting as free", &F::used_bytes},
        {"fs_avail_bytes", "bytes", level, "free to unprivileged users (df's Avail, statfs f_bavail)", &F::avail_bytes},
        {"fs_inodes_total", "count", level, "inodes; 0 where the filesystem allocates them as needed", &F::inodes_total},
        {"fs_inodes_used", "count", level, "inodes in use", &F::inodes_used},
    };
    return t;
}

// clang-format on

}  // namespace perfbpf

#include "collect/proc_source.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "util/files.h"

namespace perfbpf {
namespace {

// Processes that vanished are remembered this many scans, so a late BPF report about them
// (exit seen in the next interval) still gets a name.
constexpr uint64_t kForgetAfterScans = 3;

// What in a process's stat line the families do not measure (faults, threads, comm, ppid)
// changes only while it runs, with two exceptions: a write to /proc/PID/comm by another
// process, and its reparenting when its parent exits (checked on every scan). A full scan
// this often bounds how long the first goes unseen.
constexpr uint64_t kFullScanEveryNs = 10'000'000'000ULL;
// A process's cgroup can change after it was first seen: a launcher forks, then moves its
// child (systemd-run, container runtimes, cgexec, a test harness), and a process read once
// would stay in its launcher's cgroup. Young processes (their first scans) are read again
// every scan, everyone else every kCgroupRefreshEveryNs.
constexpr uint64_t kYoungScans = 5;
constexpr uint64_t kCgroupRefreshEveryNs = 10'000'000'000ULL;

// The sched family saw a thread of `pid` end a slice this interval.
bool ran_in_interval(SnapshotBuilder& builder, int pid) {
    auto& procs = builder.processes();
    auto it = procs.find(pid);
    if (it == procs.end()) return false;
    const ProcessSample& p = it->second;
    return p.oncpu_ns || p.vol_switches || p.invol_switches || p.runq_waits;
}

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;
}

}  // namespace

ProcSource::ProcSource(std::string proc_root, bool fill_cpu, bool fill_rss)
    : root_(std::move(proc_root)),
      fill_cpu_(fill_cpu),
      fill_rss_(fill_rss),
      ticks_per_s_(::sysconf(_SC_CLK_TCK)),
      page_bytes_(::sysconf(_SC_PAGESIZE)) {}

std::optional<ProcCgroups> ProcSource::read_cgroups(int pid) const {
    auto text = read_file(root_ + "/" + std::to_string(pid) + "/cgroup");
    if (!text) return std::nullopt;
    return parse_proc_cgroup(*text);
}

uint64_t ProcSource::read_netns(int pid) const {
    struct stat st;
    std::string path = root_ + "/" + std::to_string(pid) + "/ns/net";
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

void ProcSource::remember(int tgid, const std::string& comm) {
    Known& k = known_[tgid];
    k.comm = comm;
    load_cgroups(tgid, k);
    if (uint64_t ns = read_netns(tgid)) k.netns = ns;
    k.last_seen_scan = scan_;
}

void ProcSource::load_cgroups(int pid, Known& k) const {
    if (auto cgroups = read_cgroups(pid)) {
        k.cgroups = *cgroups;
        k.cgroup = choose_cgroup(k.cgroups);
    }
}

void ProcSource::refresh_cgroups(int pid, Known& k) const {
    if (k.kthread) return;  // nobody moves kernel threads between cgroups
    if (refresh_cgroups_ || scan_ - k.first_seen_scan < kYoungScans) load_cgroups(pid, k);
}

void ProcSource::add_cgroup(const Known& k, ProcessSample& p, SnapshotBuilder& builder) const {
    if (k.cgroup.path.empty()) return;
    p.cgroup = k.cgroup.path;
    // The first process seen in the interval names the cgroup's other paths.
    if (builder.cgroups().contains(k.cgroup.path)) return;
    CgroupSample& c = builder.cgroup(k.cgroup.path);
    c.hierarchy = k.cgroup.hierarchy;
    c.v1_cpu_path = k.cgroups.cpu;
    c.v1_memory_path = k.cgroups.memory;
}

bool ProcSource::needs_read(const Known* k, bool ran, bool exited) const {
    if (full_scan_ || !k || !k->scanned) return true;
    // Not seen by the previous scan: gone then (its pid may have been reused since), or
    // added between listings.
    if (k->last_seen_scan + 1 != scan_) return true;
    // A kernel thread's stat line changes only in its CPU time, which the sched family
    // measures, and a kworker's comm (the work it last ran, refreshed by full scans): the
    // dozens that run every second on a large server are not reread each interval. Once
    // its exit is reported, its pid may be another process's.
    if (k->kthread) return exited;
    // The family's totals reach its map at most once per flush period (20 ms) per thread,
    // so what a process did late in the previous interval may show only now: one more
    // read after it ran.
    if (ran || k->ran) return true;
    // Its parent exited: it was reparented without running.
    return k->ppid > 0 && !std::binary_search(live_.begin(), live_.end(), k->ppid);
}

void ProcSource::add_unchanged(int pid, const Known& k, SnapshotBuilder& builder) const {
    ProcessSample& p = builder.process(pid);
    p.comm = k.comm;
    p.ppid = k.ppid;
    p.start_time_ticks = k.starttime;
    p.threads = k.threads;
    p.netns = k.netns;
    add_cgroup(k, p, builder);
}

// Listing /proc has the kernel walk every task (proc_pid_readdir: every thread id, a
// 1,000-thread pool's included): 8.5 % of the daemon's own CPU at 1 s beside such a pool.
// With both families active /proc is listed at full scans only; in between, the live set
// follows what the families report: a new process runs before anything else can see it, so
// the sched family reports it at its first switch-out; a process that exits runs its exit
// too, and its read then fails. What no family reported (its threads found the slot table
// full, a drop that is counted) shows at the next full scan.
void ProcSource::list_processes(SnapshotBuilder& builder, bool list) {
    if (!list) {
        for (const auto& [pid, _] : builder.context().exited)
            if (auto it = std::ranges::lower_bound(live_, pid); it != live_.end() && *it == pid)
                live_.erase(it);
        const size_t listed = live_.size();
        for (const auto& [pid, _] : builder.processes())
            if (pid > 0 && !std::binary_search(live_.begin(), live_.begin() + listed, pid))
                live_.push_back(pid);
        std::inplace_merge(live_.begin(), live_.begin() + listed, live_.end());
        return;
    }
    live_.clear();
    if (DIR* dir = ::opendir(root_.c_str())) {
        while (dirent* de = ::readdir(dir))
            if (std::isdigit(static_cast<unsigned char>(de->d_name[0])))
                live_.push_back(std::atoi(de->d_name));
        ::closedir(dir);
    }
    std::sort(live_.begin(), live_.end());
}

void ProcSource::collect(SnapshotBuilder& builder) {
    ++scan_;
    const bool first_scan = scan_ == 1;
    const uint64_t now = builder.context().now_ns;
    // Without the sched family nothing says who ran; without the mem family RSS comes
    // from here and changes without the process running (reclaim).
    full_scan_ = first_scan || fill_cpu_ || fill_rss_ || now - last_full_ns_ >= kFullScanEveryNs;
    if (full_scan_) last_full_ns_ = now;
    refresh_cgroups_ = !first_scan && now - last_cgroup_refresh_ns_ >= kCgroupRefreshEveryNs;
    if (first_scan || refresh_cgroups_) last_cgroup_refresh_ns_ = now;
    list_processes(builder, full_scan_);
    vanished_.clear();
    for (int pid : live_) {
        auto known = known_.find(pid);
        const bool ran = ran_in_interval(builder, pid);
        if (!needs_read(known != known_.end() ? &known->second : nullptr, ran,
                        builder.context().exited.contains(pid))) {
            refresh_cgroups(pid, known->second);
            add_unchanged(pid, known->second, builder);
            known->second.ran = false;
            known->second.last_seen_scan = scan_;
            continue;
        }
        path_.assign(root_).append("/").append(std::to_string(pid)).append("/stat");
        // Kept open for a process that ran: it will likely be read again next interval.
        auto text = stat_files_.read(path_, ran);
        auto st = text ? parse_pid_stat(*text) : std::nullopt;
        if (!st) {  // exited meanwhile
            vanished_.push_back(pid);
            continue;
        }
        auto [it, fresh] = known_.try_emplace(pid);
        Known& k = it->second;
        bool same = !fresh && k.scanned && k.starttime == st->starttime_ticks;
        if (!same) {
            // New process (or pid reused): name and cgroup resolved once.
            k = Known{};
            k.starttime = st->starttime_ticks;
            load_cgroups(pid, k);
            k.netns = read_netns(pid);
            k.first_seen_scan = scan_;
        } else if (st->state != 'Z') {
            // Not a zombie: in the v1 hierarchies the kernel moves an exiting task to the
            // root at exit, so a zombie's /proc/PID/cgroup says "/" there and its last
            // interval's CPU went to the root cgroup (0.43 s of a 2.1 s hog, cgroup_test).
            refresh_cgroups(pid, k);
        }
        uint64_t cpu_ticks = st->utime_ticks + st->stime_ticks;
        uint64_t rss = st->rss_pages * static_cast<uint64_t>(page_bytes_);
        ProcessSample& p = builder.process(pid);
        p.comm = st->comm;  // /proc comm is current after exec and prctl renames
        p.ppid = st->ppid;
        p.start_time_ticks = st->starttime_ticks;
        p.threads = st->num_threads;
        p.netns = k.netns;
        add_cgroup(k, p, builder);
        if (fill_rss_) {
            p.rss_bytes = rss;
            p.rss_peak_bytes = same ? std::max(rss, k.rss_bytes) : rss;
        }
        if (same) {
            p.minor_faults = grew(st->minflt, k.minflt);
            p.major_faults = grew(st->majflt, k.majflt);
            if (fill_rss_)
                p.rss_growth_bytes = static_cast<int64_t>(rss) - static_cast<int64_t>(k.rss_bytes);
            if (fill_cpu_)
                p.oncpu_ns = grew(cpu_ticks, k.cpu_ticks) * 1'000'000'000ULL /
                             static_cast<uint64_t>(ticks_per_s_);
        } else if (!first_scan) {
            // Started within the interval: everything it has, it gained now.
            p.minor_faults = st->minflt;
            p.major_faults = st->majflt;
            if (fill_rss_) p.rss_growth_bytes = static_cast<int64_t>(rss);
            if (fill_cpu_)
                p.oncpu_ns = cpu_ticks * 1'000'000'000ULL / static_cast<uint64_t>(ticks_per_s_);
        }
        k.comm = st->comm;
        k.ppid = st->ppid;
        k.threads = st->num_threads;
        k.cpu_ticks = cpu_ticks;
        k.minflt = st->minflt;
        k.majflt = st->majflt;
        k.rss_bytes = rss;
        k.scanned = true;
        k.kthread = st->flags & kPfKthread;
        k.ran = ran;
        k.last_seen_scan = scan_;
    }
    if (!vanished_.empty())
        std::erase_if(live_, [&](int pid) { return std::ranges::binary_search(vanished_, pid); });
    // Processes reported by probes but gone from /proc: name them from memory, and count
    // what they did since the last scan from the totals a probe read at their exit.
    for (auto& [tgid, p] : builder.processes()) {
        auto it = known_.find(tgid);
        const bool gone = it == known_.end() || it->second.last_seen_scan != scan_;
        if (!gone) continue;
        const SnapshotBuilder::FaultTotals* exit_faults = builder.exit_fault_totals(tgid);
        Known* k = it != known_.end() ? &it->second : nullptr;
        if (k) {
            if (p.comm.empty()) p.comm = k->comm;
            if (p.cgroup.empty()) add_cgroup(*k, p, builder);
            if (!p.netns) p.netns = k->netns;
            if (!p.ppid) p.ppid = k->ppid;
            if (!p.start_time_ticks) p.start_time_ticks = k->starttime;
        }
        const bool scanned = k && k->scanned;
        if (exit_faults) {
            p.minor_faults = scanned ? grew(exit_faults->minor, k->minflt) : exit_faults->minor;
            p.major_faults = scanned ? grew(exit_faults->major, k->majflt) : exit_faults->major;
            if (k) {
                k->minflt = exit_faults->minor;
                k->majflt = exit_faults->major;
            }
        }
        if (fill_rss_ && scanned && k->rss_bytes) {
            // Its memory was returned at exit.
            p.rss_growth_bytes = -static_cast<int64_t>(k->rss_bytes);
            p.rss_peak_bytes = k->rss_bytes;
            k->rss_bytes = 0;
        }
    }
    for (auto& [_, p] : builder.processes())
        if (p.cgroup.empty()) p.cgroup = "/";
    for (auto it = known_.begin(); it != known_.end();) {
        if (scan_ - it->second.last_seen_scan > kForgetAfterScans)
            it = known_.erase(it);
        else
            ++it;
    }
    stat_files_.end_pass();
}

}  // namespace perfbpf

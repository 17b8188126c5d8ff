#include "collect/proc_source.h"

#include <dirent.h>
#include <unistd.h>

#include <cctype>

#include "collect/parse/procfs.h"
#include "util/files.h"

namespace perfbpf {
namespace {

// Processes that vanished are remembered this many scans, so a late BPF report about them
// (exit seen in the next interval) still gets a name.
constexpr uint64_t kForgetAfterScans = 3;

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;
}

}  // namespace

ProcSource::ProcSource(std::string proc_root, bool fill_cpu)
    : root_(std::move(proc_root)),
      fill_cpu_(fill_cpu),
      ticks_per_s_(::sysconf(_SC_CLK_TCK)),
      page_bytes_(::sysconf(_SC_PAGESIZE)) {}

std::string ProcSource::read_cgroup(int pid) const {
    auto text = read_file(root_ + "/" + std::to_string(pid) + "/cgroup");
    return text ? choose_cgroup_path(*text) : std::string();
}

void ProcSource::remember(int tgid, const std::string& comm) {
    Known& k = known_[tgid];
    k.comm = comm;
    if (k.cgroup.empty()) k.cgroup = read_cgroup(tgid);
    k.last_seen_scan = scan_;
}

void ProcSource::collect(SnapshotBuilder& builder) {
    ++scan_;
    const bool first_scan = scan_ == 1;
    DIR* dir = ::opendir(root_.c_str());
    if (dir) {
        while (dirent* de = ::readdir(dir)) {
            if (!std::isdigit(static_cast<unsigned char>(de->d_name[0]))) continue;
            int pid = std::atoi(de->d_name);
            auto text = read_file(root_ + "/" + de->d_name + "/stat");
            if (!text) continue;  // exited meanwhile
            auto st = parse_pid_stat(*text);
            if (!st) continue;
            auto [it, fresh] = known_.try_emplace(pid);
            Known& k = it->second;
            bool same = !fresh && k.scanned && k.starttime == st->starttime_ticks;
            if (!same) {
                // New process (or pid reused): name and cgroup resolved once.
                k = Known{};
                k.starttime = st->starttime_ticks;
                k.cgroup = read_cgroup(pid);
            }
            uint64_t cpu_ticks = st->utime_ticks + st->stime_ticks;
            uint64_t rss = st->rss_pages * static_cast<uint64_t>(page_bytes_);
            ProcessSample& p = builder.process(pid);
            p.comm = st->comm;  // /proc comm is current after exec and prctl renames
            p.ppid = st->ppid;
            p.threads = st->num_threads;
            p.cgroup = k.cgroup;
            p.rss_bytes = rss;
            if (same) {
                p.minor_faults = grew(st->minflt, k.minflt);
                p.major_faults = grew(st->majflt, k.majflt);
                p.rss_growth_bytes = static_cast<int64_t>(rss) - static_cast<int64_t>(k.rss_bytes);
                if (fill_cpu_)
                    p.oncpu_ns = grew(cpu_ticks, k.cpu_ticks) * 1'000'000'000ULL /
                                 static_cast<uint64_t>(ticks_per_s_);
            } else if (!first_scan) {
                // Started within the interval: everything it has, it gained now.
                p.minor_faults = st->minflt;
                p.major_faults = st->majflt;
                p.rss_growth_bytes = static_cast<int64_t>(rss);
                if (fill_cpu_)
                    p.oncpu_ns = cpu_ticks * 1'000'000'000ULL / static_cast<uint64_t>(ticks_per_s_);
            }
            k.comm = st->comm;
            k.ppid = st->ppid;
            k.cpu_ticks = cpu_ticks;
            k.minflt = st->minflt;
            k.majflt = st->majflt;
            k.rss_bytes = rss;
            k.scanned = true;
            k.last_seen_scan = scan_;
        }
        ::closedir(dir);
    }
    // Processes reported by probes but gone from /proc: name them from memory.
    for (auto& [tgid, p] : builder.processes()) {
        if (auto it = known_.find(tgid); it != known_.end() && it->second.last_seen_scan != scan_) {
            if (p.comm.empty()) p.comm = it->second.comm;
            if (p.cgroup.empty()) p.cgroup = it->second.cgroup;
            if (!p.ppid) p.ppid = it->second.ppid;
            if (it->second.scanned) {
                // Its memory was returned at exit.
                p.rss_growth_bytes = -static_cast<int64_t>(it->second.rss_bytes);
                it->second.rss_bytes = 0;
            }
        }
        if (p.cgroup.empty()) p.cgroup = "/";
    }
    for (auto it = known_.begin(); it != known_.end();) {
        if (scan_ - it->second.last_seen_scan > kForgetAfterScans)
            it = known_.erase(it);
        else
            ++it;
    }
}

}  // namespace perfbpf

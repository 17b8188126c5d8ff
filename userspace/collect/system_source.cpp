#include "collect/system_source.h"

#include <sys/utsname.h>
#include <unistd.h>

#include "collect/parse/vmstat_deltas.h"
#include "util/files.h"

namespace perfbpf {
namespace {

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;
}

double pct(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

SystemSource::SystemSource(std::string proc_root) : root_(std::move(proc_root)) {}

bool SystemSource::psi_available() const {
    return read_file(root_ + "/pressure/cpu").has_value();
}

void SystemSource::read_psi(const std::string& file, Psi& out, std::optional<Psi>& prev,
                            uint64_t interval_ns) {
    auto text = files_.read(root_ + "/pressure/" + file);
    if (!text) return;
    auto psi = parse_pressure(*text);
    if (!psi) return;
    out = *psi;
    if (prev) set_psi_interval(out, *prev, interval_ns);
    prev = *psi;
}

void SystemSource::collect(SnapshotBuilder& builder) {
    SystemSample& sys = builder.system();
    const uint64_t interval_ns = builder.context().interval_ns;
    struct utsname u;
    if (::uname(&u) == 0) sys.kernel = u.release;

    if (auto text = files_.read(root_ + "/loadavg"); text) {
        if (auto l = parse_loadavg(*text)) {
            for (int i = 0; i < 3; ++i) sys.loadavg[i] = l->avg[i];
            sys.running = l->running;
            sys.total_tasks = l->total;
        }
    }
    if (auto text = files_.read(root_ + "/stat"); text) {
        if (auto st = parse_proc_stat(*text)) {
            if (prev_stat_) {
                const CpuTimes& a = st->all;
                const CpuTimes& b = prev_stat_->all;
                uint64_t total = grew(a.total(), b.total());
                sys.cpu_user_pct = pct(grew(a.user + a.nice, b.user + b.nice), total);
                sys.cpu_system_pct = pct(grew(a.system, b.system), total);
                sys.cpu_iowait_pct = pct(grew(a.iowait, b.iowait), total);
                sys.cpu_irq_pct = pct(grew(a.irq + a.softirq, b.irq + b.softirq), total);
                sys.cpu_steal_pct = pct(grew(a.steal, b.steal), total);
                sys.cpu_idle_pct = pct(grew(a.idle, b.idle), total);
                sys.cpu_busy_pct = total ? 100.0 - sys.cpu_idle_pct - sys.cpu_iowait_pct : 0;
                sys.context_switches = grew(st->context_switches, prev_stat_->context_switches);
            }
            // /proc/stat lists the online CPUs (glibc's sysconf opens a sysfs file for it).
            sys.ncpus = st->cpu_lines;
            prev_stat_ = *st;
        }
    }
    if (sys.ncpus == 0) sys.ncpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
    if (auto text = files_.read(root_ + "/meminfo"); text) {
        auto m = parse_meminfo(*text);
        sys.mem_total_bytes = m["MemTotal"];
        sys.mem_available_bytes = m["MemAvailable"];
        sys.mem_free_bytes = m["MemFree"];
        sys.swap_total_bytes = m["SwapTotal"];
        sys.swap_free_bytes = m["SwapFree"];
    }
    if (auto text = files_.read(root_ + "/vmstat"); text) {
        auto v = parse_vmstat(*text, vmstat_key_applied);
        if (!prev_vmstat_.empty()) apply_vmstat(v, prev_vmstat_, sys);
        prev_vmstat_ = std::move(v);
    }
    if (auto text = files_.read(root_ + "/net/softnet_stat"); text) {
        SoftnetTotals t = parse_softnet_stat(*text);
        if (prev_softnet_) {
            sys.softnet_backlog_drops = grew(t.dropped, prev_softnet_->dropped);
            sys.softnet_time_squeeze = grew(t.time_squeeze, prev_softnet_->time_squeeze);
        }
        prev_softnet_ = t;
    }
    if (auto text = files_.read(root_ + "/net/snmp"); text) {
        constexpr std::string_view kOutSegs[] = {"Tcp:OutSegs"};
        auto snmp = parse_netstat(*text, kOutSegs);
        if (auto it = snmp.find("Tcp:OutSegs"); it != snmp.end()) {
            if (prev_out_segs_) sys.tcp_out_segs = grew(it->second, *prev_out_segs_);
            prev_out_segs_ = it->second;
        }
    }
    read_psi("cpu", sys.psi_cpu, prev_cpu_, interval_ns);
    read_psi("memory", sys.psi_memory, prev_mem_, interval_ns);
    read_psi("io", sys.psi_io, prev_io_, interval_ns);
    files_.end_pass();
}

}  // namespace perfbpf

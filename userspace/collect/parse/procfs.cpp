#include "collect/parse/procfs.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "util/files.h"

namespace perfbpf {
namespace {

uint64_t to_u64(std::string_view s) {
    uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

int to_int(std::string_view s) {
    int v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

double to_double(std::string_view s) {
    return std::strtod(std::string(s).c_str(), nullptr);
}

std::vector<std::string_view> lines(std::string_view text) {
    return split_fields(text, "\n");
}

}  // namespace

std::optional<PidStat> parse_pid_stat(std::string_view text) {
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    PidStat s;
    s.pid = to_int(trim(text.substr(0, open)));
    s.comm = std::string(text.substr(open + 1, close - open - 1));
    auto f = split_fields(text.substr(close + 1));
    // f[0] is field 3 (state) of proc(5).
    if (f.size() < 22) return std::nullopt;
    s.state = f[0].empty() ? '?' : f[0][0];
    s.ppid = to_int(f[1]);
    s.flags = static_cast<uint32_t>(to_u64(f[6]));
    s.minflt = to_u64(f[7]);
    s.majflt = to_u64(f[9]);
    s.utime_ticks = to_u64(f[11]);
    s.stime_ticks = to_u64(f[12]);
    s.num_threads = to_int(f[17]);
    s.starttime_ticks = to_u64(f[19]);
    s.rss_pages = to_u64(f[21]);
    return s;
}

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
    ProcStat st;
    bool have_cpu = false;
    for (auto line : lines(text)) {
        auto f = split_fields(line);
        if (f.empty()) continue;
        if (f[0].starts_with("cpu")) {
            CpuTimes t;
            uint64_t* slots[] = {&t.user,   &t.nice, &t.system,  &t.idle,
                                 &t.iowait, &t.irq,  &t.softirq, &t.steal};
            for (size_t i = 0; i < 8 && i + 1 < f.size(); ++i) *slots[i] = to_u64(f[i + 1]);
            if (f[0] == "cpu") {
                st.all = t;
                have_cpu = true;
            } else {
                // The kernel's largest NR_CPUS (x86-64: 8192); a line naming a CPU past it is
                // not /proc/stat's (a fuzzer's "cpu35338184611241" asked for petabytes).
                constexpr size_t kMaxCpus = 8192;
                size_t n = to_u64(f[0].substr(3));
                if (n >= kMaxCpus) continue;
                if (st.per_cpu.size() <= n) st.per_cpu.resize(n + 1);
                st.per_cpu[n] = t;
                ++st.cpu_lines;
            }
        } else if (f[0] == "ctxt" && f.size() > 1) {
            st.context_switches = to_u64(f[1]);
        } else if (f[0] == "processes" && f.size() > 1) {
            st.processes_forked = to_u64(f[1]);
        } else if (f[0] == "procs_running" && f.size() > 1) {
            st.procs_running = to_int(f[1]);
        } else if (f[0] == "procs_blocked" && f.size() > 1) {
            st.procs_blocked = to_int(f[1]);
        }
    }
    if (!have_cpu) return std::nullopt;
    return st;
}

std::map<std::string, uint64_t> parse_meminfo(std::string_view text) {
    std::map<std::string, uint64_t> out;
    for (auto line : lines(text)) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto f = split_fields(line.substr(colon + 1));
        if (f.empty()) continue;
        uint64_t v = to_u64(f[0]);
        if (f.size() > 1 && f[1] == "kB") v *= 1024;
        out[std::string(line.substr(0, colon))] = v;
    }
    return out;
}

std::map<std::string, uint64_t> parse_vmstat(std::string_view text) {
    return parse_vmstat(text, [](std::string_view) { return true; });
}

std::map<std::string, uint64_t> parse_vmstat(std::string_view text,
                                             bool (*keep)(std::string_view key)) {
    std::map<std::string, uint64_t> out;
    for (auto line : lines(text)) {
        auto f = split_fields(line);
        if (f.size() >= 2 && keep(f[0])) out[std::string(f[0])] = to_u64(f[1]);
    }
    return out;
}

std::optional<LoadAvg> parse_loadavg(std::string_view text) {
    auto f = split_fields(text);
    if (f.size() < 4) return std::nullopt;
    LoadAvg l;
    for (int i = 0; i < 3; ++i) l.avg[i] = to_double(f[static_cast<size_t>(i)]);
    auto slash = f[3].find('/');
    if (slash != std::string_view::npos) {
        l.running = to_int(f[3].substr(0, slash));
        l.total = to_int(f[3].substr(slash + 1));
    }
    return l;
}

std::optional<Psi> parse_pressure(std::string_view text) {
    Psi psi;
    bool have_some = false;
    for (auto line : lines(text)) {
        auto f = split_fields(line);
        if (f.empty()) continue;
        PsiLine pl;
        for (size_t i = 1; i < f.size(); ++i) {
            auto eq = f[i].find('=');
            if (eq == std::string_view::npos) continue;
            auto key = f[i].substr(0, eq), val = f[i].substr(eq + 1);
            if (key == "avg10")
                pl.avg10 = to_double(val);
            else if (key == "avg60")
                pl.avg60 = to_double(val);
            else if (key == "avg300")
                pl.avg300 = to_double(val);
            else if (key == "total")
                pl.total_us = to_u64(val);
        }
        if (f[0] == "some") {
            psi.some = pl;
            have_some = true;
        } else if (f[0] == "full") {
            psi.full = pl;
        }
    }
    if (!have_some) return std::nullopt;
    psi.available = true;
    return psi;
}

void set_psi_interval(Psi& now, const Psi& before, uint64_t interval_ns) {
    if (!interval_ns) return;
    const double interval_us = static_cast<double>(interval_ns) / 1000.0;
    auto pct = [&](const PsiLine& a, const PsiLine& b) {
        // Totals only grow; one that went backwards (a different file) shows no stall.
        uint64_t stalled = a.total_us >= b.total_us ? a.total_us - b.total_us : 0;
        return std::min(100.0, 100.0 * static_cast<double>(stalled) / interval_us);
    };
    now.some.interval_pct = pct(now.some, before.some);
    if (now.full && before.full) now.full->interval_pct = pct(*now.full, *before.full);
}

ProcCgroups parse_proc_cgroup(std::string_view text) {
    ProcCgroups out;
    for (auto line : lines(text)) {
        // "ID:CONTROLLERS:PATH"; the path may itself contain ':'.
        auto c1 = line.find(':');
        if (c1 == std::string_view::npos) continue;
        auto c2 = line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) continue;
        auto controllers = line.substr(c1 + 1, c2 - c1 - 1);
        std::string path(trim(line.substr(c2 + 1)));
        if (line.substr(0, c1) == "0" && controllers.empty()) {
            out.v2 = path;
            continue;
        }
        for (auto ctl : split_fields(controllers, ",")) {
            if (ctl == "cpu")
                out.cpu = path;
            else if (ctl == "memory")
                out.memory = path;
            else if (ctl == "name=systemd")
                out.systemd = path;
        }
    }
    return out;
}

CgroupChoice choose_cgroup(const ProcCgroups& c) {
    const std::pair<const std::string*, const char*> order[] = {
        {&c.v2, "v2"}, {&c.cpu, "cpu"}, {&c.memory, "memory"}, {&c.systemd, "name=systemd"}};
    for (const auto& [path, hierarchy] : order)
        if (!path->empty() && *path != "/") return {*path, hierarchy};
    return {"/", "v2"};
}

std::string choose_cgroup_path(std::string_view text) {
    return choose_cgroup(parse_proc_cgroup(text)).path;
}

std::map<std::string, uint64_t> parse_netstat(std::string_view text,
                                              std::span<const std::string_view> only) {
    std::map<std::string, uint64_t> out;
    auto all = lines(text);
    for (size_t i = 0; i + 1 < all.size(); ++i) {
        auto colon = all[i].find(':');
        if (colon == std::string_view::npos) continue;
        auto prefix = all[i].substr(0, colon);
        if (all[i + 1].substr(0, colon + 1) != all[i].substr(0, colon + 1)) continue;
        auto names = split_fields(all[i].substr(colon + 1));
        auto values = split_fields(all[i + 1].substr(colon + 1));
        for (size_t k = 0; k < names.size() && k < values.size(); ++k) {
            const auto is_key = [&](std::string_view key) {
                return key.size() == prefix.size() + 1 + names[k].size() &&
                       key.starts_with(prefix) && key[prefix.size()] == ':' &&
                       key.ends_with(names[k]);
            };
            if (!only.empty() && std::ranges::none_of(only, is_key)) continue;
            out[std::string(prefix) + ":" + std::string(names[k])] = to_u64(values[k]);
        }
        ++i;  // the values line
    }
    return out;
}

std::optional<uint64_t> parse_sockstat_inuse(std::string_view text, std::string_view protocol) {
    for (auto line : lines(text)) {
        auto f = split_fields(line);
        if (f.empty() || !f[0].ends_with(':') || f[0].substr(0, f[0].size() - 1) != protocol)
            continue;
        for (size_t i = 1; i + 1 < f.size(); i += 2) {
            if (f[i] != "inuse") continue;
            auto v = parse_u64(f[i + 1]);
            return v ? std::optional<uint64_t>(*v) : std::nullopt;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

SoftnetTotals parse_softnet_stat(std::string_view text) {
    SoftnetTotals t;
    auto hex = [](std::string_view s) {
        uint64_t v = 0;
        std::from_chars(s.data(), s.data() + s.size(), v, 16);
        return v;
    };
    for (auto line : lines(text)) {
        auto f = split_fields(line);
        if (f.size() < 3) continue;
        t.processed += hex(f[0]);
        t.dropped += hex(f[1]);
        t.time_squeeze += hex(f[2]);
    }
    return t;
}

std::vector<DiskStats> parse_diskstats(std::string_view text) {
    std::vector<DiskStats> out;
    for (auto line : lines(text)) {
        auto f = split_fields(line);
        if (f.size() < 14) continue;
        DiskStats d;
        d.major = static_cast<uint32_t>(to_u64(f[0]));
        d.minor = static_cast<uint32_t>(to_u64(f[1]));
        d.name = std::string(f[2]);
        d.reads = to_u64(f[3]);
        d.read_sectors = to_u64(f[5]);
        d.read_ms = to_u64(f[6]);
        d.writes = to_u64(f[7]);
        d.write_sectors = to_u64(f[9]);
        d.write_ms = to_u64(f[10]);
        d.in_flight = to_u64(f[11]);
        d.io_ticks_ms = to_u64(f[12]);
        d.time_in_queue_ms = to_u64(f[13]);
        out.push_back(std::move(d));
    }
    return out;
}

std::optional<std::pair<uint32_t, uint32_t>> parse_dev_numbers(std::string_view text) {
    text = trim(text);
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto maj = parse_u64(text.substr(0, colon));
    auto min = parse_u64(text.substr(colon + 1));
    if (!maj || !min) return std::nullopt;
    return std::make_pair(static_cast<uint32_t>(*maj), static_cast<uint32_t>(*min));
}

}  // namespace perfbpf

#include "probes/bpf_object.h"

#include <bpf/bpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "perfbpf/common.h"
#include "probes/kernel_btf.h"
#include "probes/libbpf_log.h"
#include "util/files.h"

namespace perfbpf {

Result<SharedMaps> SharedMaps::create(uint32_t ring_bytes) {
    install_libbpf_logging();
    SharedMaps maps;
    maps.events_.reset(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "events", 0, 0, ring_bytes, nullptr));
    if (!maps.events_.valid()) return fail_errno("create ring buffer map 'events'", errno);
    maps.drops_.reset(bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "drops", sizeof(__u32),
                                     sizeof(__u64), PERFBPF_DROP_KIND_MAX, nullptr));
    if (!maps.drops_.valid()) return fail_errno("create per-CPU array map 'drops'", errno);
    return maps;
}

Result<void> SharedMaps::reuse_in(bpf_object* obj) const {
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        std::string_view name = bpf_map__name(map);
        int fd = name == "events" ? events_fd() : name == "drops" ? drops_fd() : -1;
        if (fd < 0) continue;
        if (int err = bpf_map__reuse_fd(map, fd))
            return fail_errno("share map '" + std::string(name) + "'", err);
    }
    return {};
}

namespace {

// "raw_tp/sched_switch", "tp_btf/tcp_probe" -> the tracepoint's name; "" for sections that
// are not tracepoints.
std::string tracepoint_of(std::string_view section) {
    for (std::string_view prefix :
         {"raw_tp/", "raw_tracepoint/", "tp_btf/", "tp/", "tracepoint/"}) {
        if (section.starts_with(prefix)) {
            section.remove_prefix(prefix.size());
            auto slash = section.rfind('/');
            if (slash != std::string_view::npos) section.remove_prefix(slash + 1);
            return std::string(section);
        }
    }
    return {};
}

// "PERFBPF_NO_TP_BTF=1": every tp_btf program with a raw_tp twin is replaced by the twin
// (tests cover the fallback on kernels that load tp_btf).
bool tp_btf_disabled() {
    const char* v = std::getenv("PERFBPF_NO_TP_BTF");
    return v && std::string_view(v) == "1";
}

// tp_btf program name -> its raw_tp twin (the program on the same hook).
std::map<std::string, std::string> raw_twins(bpf_object* obj) {
    std::map<std::string, std::string> tp_btf_by_hook, twins;
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
        std::string_view section = bpf_program__section_name(prog);
        if (section.starts_with("tp_btf/"))
            tp_btf_by_hook[tracepoint_of(section)] = bpf_program__name(prog);
    }
    bpf_object__for_each_program(prog, obj) {
        std::string_view section = bpf_program__section_name(prog);
        if (!section.starts_with("raw_tp/")) continue;
        auto it = tp_btf_by_hook.find(tracepoint_of(section));
        if (it != tp_btf_by_hook.end()) twins[it->second] = bpf_program__name(prog);
    }
    return twins;
}

bool attached_by_family(std::string_view section) {
    return section.starts_with("perf_event") || section.starts_with("uprobe") ||
           section.starts_with("uretprobe") || section.starts_with("usdt");
}

}  // namespace

void ProgramTable::set_status(const std::string& program, const std::string& probe, bool attached,
                              const std::string& reason) {
    bool core = !optional_.contains(program);
    for (auto& s : status_) {
        if (s.probe == probe) {
            s.attached = attached;
            s.reason = reason;
            return;
        }
    }
    status_.push_back(ProbeStatus{family_, probe, attached, core, reason});
}

void ProgramTable::prepare(bpf_object* obj) {
    status_.clear();
    prog_fds_.clear();
    reload_needed_ = false;
    raw_twin_ = raw_twins(obj);
    if (tp_btf_disabled())
        for (const auto& [tp_btf, raw] : raw_twin_)
            fallen_back_.try_emplace(tp_btf, "PERFBPF_NO_TP_BTF=1");
    // Of each pair, the one not in use is left out silently: the status names the other.
    unused_twins_.clear();
    for (const auto& [tp_btf, raw] : raw_twin_) {
        bool raw_in_use = fallen_back_.contains(tp_btf);
        unused_twins_.insert(raw_in_use ? tp_btf : raw);
        if (optional_.contains(tp_btf)) optional_.insert(raw);
    }
    // Parsing the kernel's BTF costs tens of ms: only objects with tracepoints need it.
    auto btf_ready = [] { return KernelBtf::get().available(); };
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
        std::string name = bpf_program__name(prog);
        std::string section = bpf_program__section_name(prog);
        std::string tp = tracepoint_of(section);
        if (silently_unloaded(name)) {
            bpf_program__set_autoload(prog, false);
        } else if (auto it = rejected_.find(name); it != rejected_.end()) {
            bpf_program__set_autoload(prog, false);
            set_status(name, section, false, it->second);
        } else if (auto sk = skipped_.find(name); sk != skipped_.end()) {
            bpf_program__set_autoload(prog, false);
            set_status(name, section, false, sk->second);
            status_.back().skipped = true;
        } else if (!tp.empty() && btf_ready() && !KernelBtf::get().has_tracepoint(tp)) {
            bpf_program__set_autoload(prog, false);
            set_status(name, section, false, "tracepoint " + tp + " not in this kernel");
        }
    }
}

void ProgramTable::reject(const std::string& program, const std::string& reason) {
    rejected_[program] = reason.empty() ? "rejected by the verifier" : reason;
}

void ProgramTable::skip(const std::string& program, const std::string& reason) {
    skipped_[program] = reason;
    optional_.insert(program);
}

bool ProgramTable::fall_back(const std::string& program, const std::string& reason) {
    if (!raw_twin_.contains(program) || fallen_back_.contains(program)) return false;
    fallen_back_[program] = reason;
    return true;
}

bool ProgramTable::rejected(const std::string& program) const {
    return rejected_.contains(program);
}

std::vector<LinkPtr> ProgramTable::attach(bpf_object* obj) {
    std::vector<LinkPtr> links;
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
        std::string section = bpf_program__section_name(prog);
        if (!bpf_program__autoload(prog) || attached_by_family(section)) continue;
        std::string name = bpf_program__name(prog);
        bpf_link* link = bpf_program__attach(prog);
        if (!link) {
            std::string reason = "attach " + section + ": " + errno_text(errno);
            reload_needed_ |= fall_back(name, reason);
            set_status(name, section, false, reason);
            continue;
        }
        links.emplace_back(link);
        set_status(name, section, true, fallback_note(name));
        prog_fds_[section] = bpf_program__fd(prog);
    }
    return links;
}

std::string ProgramTable::fallback_note(const std::string& program) const {
    for (const auto& [tp_btf, raw] : raw_twin_) {
        if (raw != program) continue;
        auto why = fallen_back_.find(tp_btf);
        if (why != fallen_back_.end()) return "raw_tp fallback for tp_btf (" + why->second + ")";
    }
    return {};
}

void ProgramTable::record(const std::string& program, const std::string& probe, bool attached,
                          const std::string& reason, int prog_fd) {
    set_status(program, probe, attached, reason);
    if (attached && prog_fd >= 0) prog_fds_[probe] = prog_fd;
}

std::map<std::string, uint64_t> ProgramTable::run_counts() const {
    std::map<std::string, uint64_t> out;
    for (const auto& [probe, fd] : prog_fds_) {
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) out[probe] = info.run_cnt;
    }
    return out;
}

uint64_t ProgramTable::run_time_ns() const {
    uint64_t total = 0;
    for (const auto& [probe, fd] : prog_fds_) {
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) total += info.run_time_ns;
    }
    return total;
}

Result<UniqueFd> enable_run_stats() {
    int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) return fail_errno("enable BPF run statistics", errno);
    return UniqueFd(fd);
}

void ProgramTable::fail_all(bpf_object* obj, const std::string& reason) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
        std::string section = bpf_program__section_name(prog);
        if (silently_unloaded(bpf_program__name(prog))) continue;
        bool already = false;
        for (const auto& s : status_) already |= s.probe == section;
        if (!already) set_status(bpf_program__name(prog), section, false, reason);
    }
}

Result<SlotTable> ProgramTable::map_slots_then_attach(bpf_object* obj, bpf_map* slots,
                                                      bpf_map* used, bpf_map* claims,
                                                      uint32_t count, size_t slot_bytes,
                                                      std::vector<LinkPtr>& links) {
    auto mapped = SlotTable::map(bpf_map__fd(slots), bpf_map__fd(used), bpf_map__fd(claims), count,
                                 slot_bytes, bpf_map__name(slots));
    if (!mapped) {
        fail_all(obj, mapped.error().message);
        return mapped;
    }
    links = attach(obj);
    return mapped;
}

LoadFailure parse_load_failure(const std::string& log) {
    LoadFailure out;
    std::istringstream in(log);
    std::string line, last_verifier_line;
    bool in_log = false;
    while (std::getline(in, line)) {
        if (line.find("-- BEGIN PROG LOAD LOG --") != std::string::npos) {
            in_log = true;
            continue;
        }
        if (line.find("-- END PROG LOAD LOG --") != std::string::npos) {
            in_log = false;
            continue;
        }
        if (in_log) {
            auto t = trim(line);
            if (!t.empty() && !t.starts_with("processed ") && !t.starts_with("verification time") &&
                !t.starts_with("stack depth"))
                last_verifier_line = std::string(t);
            continue;
        }
        auto p = line.find("prog '");
        if (p == std::string::npos || out.program.size()) continue;
        if (line.find("fail") == std::string::npos && line.find("error") == std::string::npos)
            continue;
        auto start = p + 6;
        auto end = line.find('\'', start);
        if (end == std::string::npos) continue;
        out.program = line.substr(start, end - start);
        auto colon = line.find(": ", end);
        if (colon != std::string::npos) out.reason = std::string(trim(line.substr(colon + 2)));
    }
    if (!last_verifier_line.empty()) out.reason = "verifier: " + last_verifier_line;
    return out;
}

Result<void> load_object_with_retry(const std::function<Result<bpf_object*>()>& open_and_configure,
                                    const std::function<int()>& load,
                                    const std::function<void()>& destroy, const SharedMaps& shared,
                                    ProgramTable& table) {
    const int kMaxAttempts = 8;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        auto obj = open_and_configure();
        if (!obj) {
            destroy();
            return std::unexpected(obj.error());
        }
        if (auto r = shared.reuse_in(*obj); !r) {
            table.fail_all(*obj, r.error().message);
            destroy();
            return std::unexpected(r.error());
        }
        table.prepare(*obj);
        int err;
        std::string log;
        {
            LogCapture capture;
            err = load();
            log = capture.text();
        }
        if (err == 0) return {};
        LoadFailure failure = parse_load_failure(log);
        if (failure.program.empty() || table.rejected(failure.program)) {
            std::string reason = "load " + table.family() + " probes: " + errno_text(err);
            if (!failure.reason.empty()) reason += " (" + failure.reason + ")";
            table.fail_all(*obj, reason);
            destroy();
            return fail(reason);
        }
        // A rejected tp_btf program is replaced by its raw_tp twin; any other is left out.
        if (!table.fall_back(failure.program,
                             failure.reason.empty() ? "rejected by the verifier" : failure.reason))
            table.reject(failure.program, failure.reason);
        destroy();
    }
    return fail("load " + table.family() + " probes: too many programs rejected");
}

Result<PerfEventLinks> attach_perf_event_all_cpus(bpf_program* prog, int hz) {
    PerfEventLinks out;
    int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return fail_errno("count possible CPUs", ncpus);
    int last_err = 0;
    for (int cpu = 0; cpu < ncpus; ++cpu) {
        perf_event_attr attr{};
        attr.size = sizeof(attr);
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.freq = 1;
        attr.sample_freq = static_cast<__u64>(hz);
        int fd = static_cast<int>(
            syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
        if (fd < 0) {
            if (errno == ENODEV) continue;  // offline CPU
            last_err = errno;
            continue;
        }
        UniqueFd owned(fd);
        bpf_link* link = bpf_program__attach_perf_event(prog, fd);
        if (!link) {
            last_err = errno;
            continue;
        }
        out.links.emplace_back(link);
        out.fds.push_back(std::move(owned));
    }
    if (out.links.empty())
        return fail_errno("perf_event_open cpu-clock", last_err ? last_err : ENODEV);
    return out;
}

Result<void> resize_map(bpf_map* map, uint32_t entries) {
    if (int err = bpf_map__set_max_entries(map, entries))
        return fail_errno(std::string("resize map '") + bpf_map__name(map) + "'", err);
    return {};
}

uint32_t read_pid_max() {
    auto text = read_first_line("/proc/sys/kernel/pid_max");
    if (!text) return 4194304;
    auto v = parse_u64(*text);
    return v && *v > 0 && *v <= 4194304 ? static_cast<uint32_t>(*v) : 4194304;
}

}  // namespace perfbpf

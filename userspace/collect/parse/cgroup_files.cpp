#include "collect/parse/cgroup_files.h"

#include "collect/parse/mounts.h"
#include "collect/parse/procfs.h"
#include "util/files.h"
#include "util/kept_files.h"

namespace perfbpf {
namespace {

// v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages);
// anything this large is no limit.
constexpr uint64_t kNoLimit = 1ULL << 62;

std::string join(const std::string& root, const std::string& path) {
    return root + (path == "/" ? "" : path);
}

// A limit file: a number, or "max" (none).
std::optional<uint64_t> read_limit(KeptFiles& files, const std::string& file) {
    auto text = files.read_first_line(file);
    if (!text || trim(*text) == "max") return std::nullopt;
    auto v = parse_u64(trim(*text));
    if (!v || *v >= kNoLimit) return std::nullopt;
    return *v;
}

std::optional<uint64_t> stat_value(const std::map<std::string, uint64_t>& stat,
                                   const std::string& key) {
    auto it = stat.find(key);
    if (it == stat.end()) return std::nullopt;
    return it->second;
}

void read_psi(KeptFiles& files, const std::string& dir, CgroupFiles& out) {
    const std::pair<const char*, Psi*> psi_files[] = {
        {"cpu.pressure", &out.cpu}, {"memory.pressure", &out.memory}, {"io.pressure", &out.io}};
    for (const auto& [name, psi] : psi_files) {
        auto text = files.read(dir + "/" + name);
        auto parsed = text ? parse_pressure(*text) : std::nullopt;
        if (!parsed) {
            out.psi_unavailable =
                text ? dir + "/" + name + ": not in PSI format" : text.error().message;
            out.cpu = out.memory = out.io = Psi{};
            return;
        }
        *psi = *parsed;
    }
}

// memory.stat, with `prefix` "" (v2) or "total_" (v1: the hierarchical totals, as v2's are).
void read_memory_stat(KeptFiles& files, const std::string& file, const std::string& prefix,
                      CgroupMemory& m) {
    auto text = files.read(file);
    if (!text) return;
    auto stat = parse_vmstat(*text);
    auto get = [&](const std::string& key) { return stat_value(stat, prefix + key); };
    // v1 names anonymous memory "rss" and the page cache "cache".
    m.anon_bytes = get(prefix.empty() ? "anon" : "rss").value_or(0);
    m.file_bytes = get(prefix.empty() ? "file" : "cache").value_or(0);
    m.active_anon_bytes = get("active_anon").value_or(0);
    m.inactive_anon_bytes = get("inactive_anon").value_or(0);
    m.active_file_bytes = get("active_file").value_or(0);
    m.inactive_file_bytes = get("inactive_file").value_or(0);
    m.workingset_refault_anon = get("workingset_refault_anon");
    m.workingset_refault_file = get("workingset_refault_file");
    m.pgscan = get("pgscan");
    m.pgsteal = get("pgsteal");
    m.pgmajfault = get("pgmajfault").value_or(0);
}

void read_memory(KeptFiles& files, const CgroupRoots& roots, const CgroupSample& c,
                 CgroupMemory& m) {
    if (c.hierarchy == "v2" && !roots.v2.empty()) {
        const std::string dir = join(roots.v2, c.path);
        if (auto cur = files.read_first_line(dir + "/memory.current"); cur) {
            m.source = "v2";
            m.current_bytes = parse_u64(trim(*cur)).value_or(0);
            m.high_bytes = read_limit(files, dir + "/memory.high");
            m.max_bytes = read_limit(files, dir + "/memory.max");
            read_memory_stat(files, dir + "/memory.stat", "", m);
            if (auto events = files.read(dir + "/memory.events"))
                m.high_events = stat_value(parse_vmstat(*events), "high");
            return;
        }
    }
    if (!roots.v1_memory.empty() && !c.v1_memory_path.empty()) {
        const std::string dir = join(roots.v1_memory, c.v1_memory_path);
        if (auto use = files.read_first_line(dir + "/memory.usage_in_bytes"); use) {
            m.source = "v1";
            m.current_bytes = parse_u64(trim(*use)).value_or(0);
            m.max_bytes = read_limit(files, dir + "/memory.limit_in_bytes");
            read_memory_stat(files, dir + "/memory.stat", "total_", m);
            return;
        }
        m.unavailable = dir + ": no memory.usage_in_bytes";
        return;
    }
    m.unavailable = c.hierarchy == "v2"
                        ? "the memory controller is not enabled for this cgroup v2 group"
                        : "no v1 memory hierarchy holds this cgroup's processes";
}

uint64_t grew(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;
}

std::optional<uint64_t> grew(const std::optional<uint64_t>& now,
                             const std::optional<uint64_t>& before) {
    if (!now) return std::nullopt;
    return before ? grew(*now, *before) : 0;
}

}  // namespace

CgroupRoots cgroup_roots_from_mounts(const std::string& mounts) {
    CgroupRoots r;
    cgroup_mode_from_mounts(mounts, &r.v2);
    r.v1_cpu = cgroup_v1_mount(mounts, "cpu");
    r.v1_memory = cgroup_v1_mount(mounts, "memory");
    return r;
}

CgroupFiles read_cgroup_files(const CgroupRoots& roots, const CgroupSample& c) {
    KeptFiles once(0);
    return read_cgroup_files(roots, c, once);
}

CgroupFiles read_cgroup_files(const CgroupRoots& roots, const CgroupSample& c, KeptFiles& files) {
    CgroupFiles out;
    if (c.hierarchy != "v2")
        out.psi_unavailable = "per-cgroup pressure needs cgroup v2; " + c.path +
                              " is a path in the v1 " + c.hierarchy + " hierarchy";
    else if (roots.v2.empty())
        out.psi_unavailable = "cgroup2 is not mounted";
    else
        read_psi(files, join(roots.v2, c.path), out);
    read_memory(files, roots, c, out.mem);
    return out;
}

void apply_cgroup_files(const CgroupFiles& now, const CgroupFiles* before, uint64_t interval_ns,
                        CgroupSample& out) {
    out.psi_cpu = now.cpu;
    out.psi_memory = now.memory;
    out.psi_io = now.io;
    out.psi_unavailable = now.psi_unavailable;
    if (before) {
        if (now.cpu.available && before->cpu.available)
            set_psi_interval(out.psi_cpu, before->cpu, interval_ns);
        if (now.memory.available && before->memory.available)
            set_psi_interval(out.psi_memory, before->memory, interval_ns);
        if (now.io.available && before->io.available)
            set_psi_interval(out.psi_io, before->io, interval_ns);
    }
    out.memory = now.mem;
    CgroupMemory& m = out.memory;
    // A different source (the cgroup moved between hierarchies) is a first read.
    const CgroupMemory* b = before && before->mem.source == now.mem.source ? &before->mem : nullptr;
    m.workingset_refault_anon =
        grew(now.mem.workingset_refault_anon, b ? b->workingset_refault_anon : std::nullopt);
    m.workingset_refault_file =
        grew(now.mem.workingset_refault_file, b ? b->workingset_refault_file : std::nullopt);
    m.pgscan = grew(now.mem.pgscan, b ? b->pgscan : std::nullopt);
    m.pgsteal = grew(now.mem.pgsteal, b ? b->pgsteal : std::nullopt);
    m.pgmajfault = b ? grew(now.mem.pgmajfault, b->pgmajfault) : 0;
    m.high_events = grew(now.mem.high_events, b ? b->high_events : std::nullopt);
}

}  // namespace perfbpf

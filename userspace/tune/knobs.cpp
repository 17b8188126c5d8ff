#include "tune/knobs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "collect/parse/mounts.h"
#include "tune/task_knobs.h"
#include "util/fd.h"
#include "util/files.h"

namespace perfbpf::tune {
namespace {

std::string sysctl_path(const std::string& proc, const std::string& key) {
    std::string rel = key;
    std::replace(rel.begin(), rel.end(), '.', '/');
    return proc + "/sys/" + rel;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> inode_of(const std::string& path, const std::string& what) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return fail_errno(what + " is gone (" + path + ")", errno);
    return "ino " + std::to_string(st.st_ino);
}

// One write(2) of the whole value, as `echo V > FILE` does (O_TRUNC too, so a fake tree of
// regular files behaves like sysfs); kernel files take or refuse a value in one call.
Result<void> write_value(const std::string& path, const std::string& value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path + " for writing", errno);
    const std::string line = value + "\n";
    ssize_t n = ::write(fd.get(), line.data(), line.size());
    if (n < 0) return fail_errno("write '" + value + "' to " + path, errno);
    if (static_cast<size_t>(n) != line.size())
        return fail("short write of '" + value + "' to " + path);
    return {};
}

Result<int> pid_of(const Scope& s) {
    auto v = parse_u64(s.name);
    if (!v || *v == 0 || *v > 4194304) return fail("'" + s.name + "' is not a process id");
    return static_cast<int>(*v);
}

}  // namespace

KnobRoots KnobRoots::discover(const std::string& proc, const std::string& sys) {
    KnobRoots r;
    r.proc = proc;
    r.sys = sys;
    if (auto mounts = read_file(proc + "/self/mounts")) {
        cgroup_mode_from_mounts(*mounts, &r.cgroup2);
        r.cgroup1 = cgroup_v1_mounts(*mounts);
    }
    return r;
}

std::string Knobs::display_name(const KnobId& id) const {
    switch (id.kind) {
        case KnobKind::sysctl:
            return id.key;
        case KnobKind::block_queue:
            return "/sys/block/" + id.scope.name + "/queue/" + id.key;
        case KnobKind::cgroup: {
            const KnobSpec* spec = find_knob_spec(id.kind, id.key);
            std::string mount = roots_.cgroup2;
            if (spec && !spec->cgroup_controller.empty()) {
                auto it = roots_.cgroup1.find(spec->cgroup_controller);
                mount = it == roots_.cgroup1.end() ? "" : it->second;
            }
            std::string path = id.scope.name == "/" ? "" : id.scope.name;
            return mount + path + "/" + id.key;
        }
        case KnobKind::nice:
        case KnobKind::affinity:
            // A process setting: which process is what a reader needs to know.
            return id.key + " of pid " + id.scope.name;
    }
    return id.key;
}

Result<std::string> Knobs::path_of(const KnobId& id, const KnobSpec& spec) const {
    switch (id.kind) {
        case KnobKind::sysctl:
            return sysctl_path(roots_.proc, id.key);
        case KnobKind::block_queue:
            return roots_.sys + "/block/" + id.scope.name + "/queue/" + id.key;
        case KnobKind::cgroup: {
            std::string mount = roots_.cgroup2;
            if (!spec.cgroup_controller.empty()) {
                auto it = roots_.cgroup1.find(spec.cgroup_controller);
                if (it == roots_.cgroup1.end())
                    return fail(
                        id.key + " needs the cgroup v1 " + spec.cgroup_controller +
                        " hierarchy, which is not mounted here" +
                        (roots_.cgroup2.empty() ? "" : " (cgroup v2: use its v2 counterpart)"));
                mount = it->second;
            } else if (mount.empty()) {
                return fail(id.key + " is a cgroup v2 file and no cgroup2 hierarchy is mounted");
            }
            std::string path = id.scope.name == "/" ? "" : id.scope.name;
            return mount + path + "/" + id.key;
        }
        case KnobKind::nice:
        case KnobKind::affinity:
            return roots_.proc + "/" + id.scope.name;
    }
    return fail("unknown knob kind");
}

Result<std::string> Knobs::identity(const Scope& scope) const {
    switch (scope.kind) {
        case ScopeKind::host:
            return std::string();
        case ScopeKind::netns:
            return inode_of(roots_.netns_dir + "/" + scope.name, "network namespace " + scope.name);
        case ScopeKind::device: {
            const std::string dir = roots_.sys + "/block/" + scope.name;
            if (!exists(dir)) return fail("device " + scope.name + " is gone (no " + dir + ")");
            if (auto seq = read_first_line(dir + "/diskseq"))
                return "diskseq " + std::string(trim(*seq));
            auto dev = read_first_line(dir + "/dev");
            if (!dev) return fail("device " + scope.name + ": " + dev.error().message);
            return "dev " + std::string(trim(*dev));
        }
        case ScopeKind::cgroup: {
            std::string mount = !roots_.cgroup2.empty() ? roots_.cgroup2 : "";
            // Any hierarchy that has the directory: v1-only hosts have no cgroup2.
            std::vector<std::string> mounts;
            if (!mount.empty()) mounts.push_back(mount);
            for (const auto& [c, m] : roots_.cgroup1) mounts.push_back(m);
            for (const auto& m : mounts) {
                std::string dir = m + (scope.name == "/" ? "" : scope.name);
                if (exists(dir)) return inode_of(dir, "cgroup " + scope.name);
            }
            return fail("cgroup " + scope.name + " is gone (in no mounted hierarchy)");
        }
        case ScopeKind::pid: {
            auto pid = pid_of(scope);
            if (!pid) return std::unexpected(pid.error());
            return process_start_time(roots_.proc, *pid);
        }
    }
    return fail("unknown scope");
}

Result<std::string> Knobs::read_raw(const KnobId& id, const KnobSpec& spec) const {
    if (id.kind == KnobKind::nice || id.kind == KnobKind::affinity) {
        auto pid = pid_of(id.scope);
        if (!pid) return std::unexpected(pid.error());
        if (id.kind == KnobKind::nice) {
            auto n = read_nice(roots_.proc, *pid);
            if (!n) return std::unexpected(n.error());
            return std::to_string(*n);
        }
        auto cpus = read_affinity(roots_.proc, *pid);
        if (!cpus) return std::unexpected(cpus.error());
        return format_cpu_list(*cpus);
    }
    if (auto who = identity(id.scope); !who) return std::unexpected(who.error());
    auto path = path_of(id, spec);
    if (!path) return std::unexpected(path.error());
    if (id.scope.kind == ScopeKind::netns)
        return in_netns(roots_.netns_dir + "/" + id.scope.name, [&] { return read_file(*path); });
    return read_file(*path);
}

Result<void> Knobs::write_raw(const KnobId& id, const KnobSpec& spec,
                              const std::string& value) const {
    if (id.kind == KnobKind::nice || id.kind == KnobKind::affinity) {
        auto pid = pid_of(id.scope);
        if (!pid) return std::unexpected(pid.error());
        if (id.kind == KnobKind::nice) return write_nice(roots_.proc, *pid, std::stoi(value));
        auto cpus = parse_cpu_list(value);
        if (!cpus) return std::unexpected(cpus.error());
        return write_affinity(roots_.proc, *pid, *cpus);
    }
    auto path = path_of(id, spec);
    if (!path) return std::unexpected(path.error());
    if (id.scope.kind == ScopeKind::netns) {
        auto r = in_netns(roots_.netns_dir + "/" + id.scope.name, [&]() -> Result<std::string> {
            if (auto w = write_value(*path, value); !w) return std::unexpected(w.error());
            return std::string();
        });
        if (!r) return std::unexpected(r.error());
        return {};
    }
    return write_value(*path, value);
}

Result<KnobValue> Knobs::read(const KnobId& id) const {
    const KnobSpec* spec = find_knob_spec(id.kind, id.key);
    if (!spec)
        return fail(to_string(id) + ": not in the allowlist of knobs perfbpf tune may touch");
    if (auto s = check_scope(*spec, id.scope); !s) return std::unexpected(s.error());
    auto raw = read_raw(id, *spec);
    if (!raw) return std::unexpected(raw.error());
    auto v = parse_knob_value(*spec, *raw);
    if (!v) return fail(display_name(id) + ": " + v.error().message);
    return v;
}

std::set<int> Knobs::online_cpus() const {
    if (auto text = read_first_line(roots_.sys + "/devices/system/cpu/online"))
        if (auto cpus = parse_cpu_list(*text)) return *cpus;
    return {};
}

Result<KnobValue> Knobs::write_checked(const KnobId& id, const KnobSpec& spec,
                                       const KnobValue& before, const std::string& value) const {
    const std::string name = display_name(id);
    if (auto w = write_raw(id, spec, value); !w) return fail(name + ": " + w.error().message);
    auto after = read(id);
    if (!after) return fail(name + ": written, but cannot read it back: " + after.error().message);
    if (after->value != value) {
        // Not what we asked for (rounded, clamped or refused quietly): put the old value back.
        auto undo = write_raw(id, spec, before.value);
        return fail(name + ": wrote '" + value + "' but read back '" + after->value + "'; " +
                    (undo
                         ? "restored '" + before.value + "'"
                         : "restoring '" + before.value + "' failed too: " + undo.error().message));
    }
    return after;
}

Result<KnobValue> Knobs::write(const KnobId& id, std::string_view proposed) const {
    const KnobSpec* spec = find_knob_spec(id.kind, id.key);
    if (!spec)
        return fail(to_string(id) + ": not in the allowlist of knobs perfbpf tune may touch");
    auto before = read(id);
    if (!before) return std::unexpected(before.error());
    auto value = check_change(*spec, *before, proposed,
                              spec->type == ValueType::cpu_list ? online_cpus() : std::set<int>{});
    if (!value) return fail(display_name(id) + ": " + value.error().message);
    return write_checked(id, *spec, *before, *value);
}

Result<KnobValue> Knobs::restore(const KnobId& id, std::string_view value) const {
    const KnobSpec* spec = find_knob_spec(id.kind, id.key);
    if (!spec)
        return fail(to_string(id) + ": not in the allowlist of knobs perfbpf tune may touch");
    if (!spec->writable) return fail(display_name(id) + " is read-only");
    auto before = read(id);
    if (!before) return std::unexpected(before.error());
    auto parsed = parse_knob_value(*spec, value);
    if (!parsed)
        return fail(display_name(id) + ": cannot restore '" + std::string(value) +
                    "': " + parsed.error().message);
    if (parsed->value == before->value) return before;
    return write_checked(id, *spec, *before, parsed->value);
}

}  // namespace perfbpf::tune

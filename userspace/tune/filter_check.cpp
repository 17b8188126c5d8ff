#include "tune/filter_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace perfbpf::tune {
namespace {

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A name that is one path component: "a/../../etc" must not reach outside its directory.
bool plain_name(const std::string& n) {
    return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos;
}

// `path` with the mount point `mount` taken off its front, when it is under it.
std::optional<std::string> under_mount(const std::string& path, const std::string& mount) {
    if (mount.empty() || path.compare(0, mount.size(), mount) != 0) return std::nullopt;
    if (path.size() == mount.size()) return "/";
    if (path[mount.size()] != '/') return std::nullopt;
    return path.substr(mount.size());
}

std::vector<std::string> cgroup_mounts(const KnobRoots& roots) {
    std::vector<std::string> out;
    if (!roots.cgroup2.empty()) out.push_back(roots.cgroup2);
    for (const auto& [controller, mount] : roots.cgroup1) out.push_back(mount);
    return out;
}

Result<std::string> check_cgroup(const std::string& given, const KnobRoots& roots,
                                 const std::set<Scope>& recorded) {
    if (given.empty() || given[0] != '/' || given.find("/..") != std::string::npos)
        return fail("--cgroup '" + given + "' is not an absolute cgroup path (e.g. /batch)");
    const auto mounts = cgroup_mounts(roots);
    std::string path = given;
    // A filesystem path: the longest mount it is under (cgroup1 mounts sit below
    // /sys/fs/cgroup, where cgroup2 may be mounted too).
    size_t best = 0;
    for (const auto& m : mounts)
        if (m.size() > best)
            if (auto rel = under_mount(given, m)) {
                path = *rel;
                best = m.size();
            }
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    if (recorded.contains(Scope::cgroup(path))) return path;
    for (const auto& m : mounts)
        if (is_dir(m + path)) return path;
    return fail("no cgroup '" + given + "'" +
                (mounts.empty() ? std::string(" (no cgroup hierarchy is mounted)")
                                : " (not in " + mounts.front() +
                                      (mounts.size() > 1 ? " or the other hierarchies)" : ")")));
}

}  // namespace

Result<ScopeFilter> check_filter(const ScopeFilter& filter, const KnobRoots& roots,
                                 const std::set<Scope>& recorded) {
    ScopeFilter out = filter;
    for (const auto& d : filter.devices)
        if (!recorded.contains(Scope::device(d)) &&
            (!plain_name(d) || !is_dir(roots.sys + "/class/block/" + d)))
            return fail("no block device '" + d + "' (not in " + roots.sys + "/class/block)");
    for (const auto& n : filter.netns)
        if (!recorded.contains(Scope::netns(n)) &&
            (!plain_name(n) || ::access((roots.netns_dir + "/" + n).c_str(), F_OK) != 0))
            return fail("no network namespace '" + n + "' (not in " + roots.netns_dir + ")");
    for (const auto& p : filter.pids) {
        int pid = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pid);
        if (ec != std::errc() || end != p.data() + p.size() || pid <= 0)
            return fail("--pid '" + p + "' is not a process id");
        if (!recorded.contains(Scope::pid(pid)) && !is_dir(roots.proc + "/" + p))
            return fail("no process " + p);
    }
    out.cgroups.clear();
    for (const auto& c : filter.cgroups) {
        auto path = check_cgroup(c, roots, recorded);
        if (!path) return std::unexpected(path.error());
        out.cgroups.push_back(*path);
    }
    return out;
}

}  // namespace perfbpf::tune

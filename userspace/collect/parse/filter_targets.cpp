#include "collect/parse/filter_targets.h"

#include <sys/stat.h>

#include <cerrno>
#include <vector>

#include "collect/parse/mounts.h"
#include "util/files.h"

namespace perfbpf {
namespace {

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<void> check_cgroup(const std::string& cgroup, const std::string& proc_root) {
    const std::string mounts_path = proc_root + "/self/mounts";
    auto mounts = read_file(mounts_path);
    if (!mounts) return fail(mounts.error().message);
    std::string v2;
    cgroup_mode_from_mounts(*mounts, &v2);
    std::vector<std::string> roots;
    if (!v2.empty()) roots.push_back(v2);
    for (const auto& [controller, mount] : cgroup_v1_mounts(*mounts)) roots.push_back(mount);
    if (roots.empty()) return fail("no cgroup filesystem is mounted (" + mounts_path + ")");
    const std::string rel = cgroup.starts_with('/') ? cgroup : "/" + cgroup;
    for (const auto& root : roots)
        if (is_directory(root + rel)) return {};
    std::string where;
    for (const auto& root : roots) where += (where.empty() ? "" : ", ") + root;
    return fail("no cgroup " + cgroup + " (not a directory under " + where + ")");
}

}  // namespace

Result<void> check_filter_targets(const SnapshotFilter& f, const std::string& proc_root) {
    if (f.pid) {
        const std::string dir = proc_root + "/" + std::to_string(*f.pid);
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0)
            return fail("no process " + std::to_string(*f.pid) + " (" + dir + ": " +
                        errno_text(errno) + ")");
    }
    if (f.cgroup) return check_cgroup(*f.cgroup, proc_root);
    return {};
}

}  // namespace perfbpf

#include "util/kept_files.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>

#include "util/files.h"

namespace perfbpf {
namespace {

// Files generated when read. A regular file on disk (a test's fake /proc tree) is not kept:
// replaced by a rename or removed, its old descriptor would still read the old text.
bool generated_when_read(int fd) {
    struct statfs fs;
    if (::fstatfs(fd, &fs) != 0) return false;
    switch (fs.f_type) {
        case PROC_SUPER_MAGIC:
        case SYSFS_MAGIC:
        case CGROUP_SUPER_MAGIC:
        case CGROUP2_SUPER_MAGIC:
            return true;
        default:
            return false;
    }
}

}  // namespace

Result<std::string> KeptFiles::read(const std::string& path, bool keep) {
    if (auto it = files_.find(path); it != files_.end()) {
        auto text = read_from_start(it->second.fd.get(), path);
        if (text) {
            it->second.used = true;
            return text;
        }
        files_.erase(it);  // the object is gone: what the path names now is read below
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path, errno);
    auto text = read_from_start(fd.get(), path);
    if (text && keep && files_.size() < max_open_ && generated_when_read(fd.get()))
        files_.try_emplace(path, Kept{std::move(fd)});
    return text;
}

Result<std::string> KeptFiles::read_first_line(const std::string& path) {
    return first_line(read(path));
}

void KeptFiles::end_pass() {
    std::erase_if(files_, [](const auto& kv) { return !kv.second.used; });
    for (auto& [_, k] : files_) k.used = false;
}

}  // namespace perfbpf

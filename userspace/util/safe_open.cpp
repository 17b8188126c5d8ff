#include "util/safe_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "util/files.h"

namespace perfbpf {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string octal_mode(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

// ELOOP from O_NOFOLLOW means the last component is a symlink: say so plainly.
std::unexpected<Error> open_error(const std::string& what, int err) {
    if (err == ELOOP) return fail(what + " is a symlink: refusing to follow it");
    return fail_errno(what, err);
}

// Where replace_in_dir writes the new text, and where the old one stays until the next call.
std::string replaced_copy(const std::string& name) {
    return name + ".tmp";
}

}  // namespace

Result<UniqueFd> open_state_dir(const std::string& path, bool create, int* err) {
    if (err) *err = 0;
    const std::string what = "state dir " + path;
    UniqueFd fd(::open(path.c_str(), kDirFlags));
    if (!fd.valid() && errno == ENOENT && create) {
        // Only the last component: a mistyped --state-dir should not grow a tree.
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
            if (err) *err = errno;
            return fail_errno(what + " does not exist and cannot be created", errno);
        }
        fd.reset(::open(path.c_str(), kDirFlags));
        if (fd.valid()) {
            // The new entry must survive a power cut, or the journal in it goes with it.
            std::filesystem::path parent = std::filesystem::path(path).parent_path();
            if (parent.empty()) parent = ".";
            UniqueFd p(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!p.valid() || ::fsync(p.get()) != 0)
                return fail_errno("fsync " + parent.string(), errno);
        }
    }
    if (!fd.valid()) {
        const int e = errno;
        if (err) *err = e;
        // O_DIRECTORY | O_NOFOLLOW on a symlink fails with ENOTDIR, not ELOOP.
        struct stat st;
        if (e == ENOTDIR && ::lstat(path.c_str(), &st) == 0) {
            if (S_ISLNK(st.st_mode)) return open_error(what, ELOOP);
            if (!S_ISDIR(st.st_mode)) return fail(what + " is not a directory");
        }
        return open_error(what, e);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return fail_errno("stat " + what, errno);
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return fail(what + " is owned by uid " + std::to_string(st.st_uid) +
                    ", not root or us: refusing to use it");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(what + " is writable by group or others (mode " + octal_mode(st.st_mode) +
                    "): refusing to use it");
    return fd;
}

Result<UniqueFd> open_in_dir(int dirfd, const std::string& dir, const std::string& name, int flags,
                             mode_t mode, int* err) {
    if (err) *err = 0;
    UniqueFd fd(::openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd.valid()) {
        if (err) *err = errno;
        return open_error(dir + "/" + name, errno);
    }
    return fd;
}

Result<void> replace_in_dir(int dirfd, const std::string& dir, const std::string& name,
                            std::string_view text, mode_t mode) {
    const std::string tmp = replaced_copy(name);
    // A new inode, not the old one truncated: ext4 flushes a file truncated to 0 at its
    // close (auto_da_alloc again), and a reader still holding the old text keeps it whole.
    if (::unlinkat(dirfd, tmp.c_str(), 0) != 0 && errno != ENOENT)
        return fail_errno("removing " + dir + "/" + tmp, errno);
    auto fd = open_in_dir(dirfd, dir, tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (!fd) return std::unexpected(fd.error());
    auto done = [&]() -> Result<void> {
        if (auto w = write_all(fd->get(), dir + "/" + tmp, text); !w) return w;
        fd->reset();
        if (::renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), RENAME_EXCHANGE) == 0) return {};
        if (errno != ENOENT && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return fail_errno("replacing " + dir + "/" + name, errno);
        if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0)
            return fail_errno("replacing " + dir + "/" + name, errno);
        return {};
    }();
    if (!done) ::unlinkat(dirfd, tmp.c_str(), 0);
    return done;
}

void remove_replaced_copy(int dirfd, const std::string& name) {
    ::unlinkat(dirfd, replaced_copy(name).c_str(), 0);
}

Result<UniqueFd> create_output_file(const std::string& path, bool append) {
    const int flags =
        O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (append ? O_APPEND : O_TRUNC);
    UniqueFd fd(::open(path.c_str(), flags, 0644));
    if (!fd.valid()) return open_error("output file " + path, errno);
    return fd;
}

}  // namespace perfbpf

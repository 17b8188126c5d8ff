// Opening files as root in places others may write to: the tune state dir and output files
// the user names. Nothing here follows a symlink in the last component, so a link planted
// at /var/lib/perfbpf/tune.lock or at `trace -o FILE` cannot make root truncate or write
// the file it points at. Every descriptor is O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

// The state dir as a directory fd. With `create`, a missing last component is made (0700)
// when its parent exists. Refused, naming the dir: a symlink, not a directory, owned by
// someone other than us or root, or writable by group or others (anyone who can write it
// can swap the files in it). When opening failed, `err` (when given) gets its errno
// (ENOENT: missing), else 0.
Result<UniqueFd> open_state_dir(const std::string& path, bool create, int* err = nullptr);

// `name` inside the directory `dirfd` (shown as `dir` in messages), never through a symlink:
// openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode). `err` as for open_state_dir
// (ELOOP: a symlink).
Result<UniqueFd> open_in_dir(int dirfd, const std::string& dir, const std::string& name, int flags,
                             mode_t mode = 0600, int* err = nullptr);

// Replaces `name` inside `dirfd` by a file holding `text`, atomically: whoever opens `name`
// reads the old text or the new, whole. The text goes to a new NAME.tmp, which is then
// swapped with `name` (renameat2 RENAME_EXCHANGE): NAME.tmp names the old file until the
// next call removes it. A plain rename over an existing file makes ext4 (auto_da_alloc)
// write the new file's blocks out at once, a disk write each second for the daemon's
// status; swapped, a superseded text that was never written back is dropped with its
// inode. A plain rename where `name` does not exist yet or the file system cannot swap.
// Neither name is followed if it is a symlink (a planted one is swapped or removed, never
// written through).
// On failure nothing of the attempt is left behind.
Result<void> replace_in_dir(int dirfd, const std::string& dir, const std::string& name,
                            std::string_view text, mode_t mode = 0644);
// Removes the old file the last replace_in_dir of `name` left (when done replacing it).
void remove_replaced_copy(int dirfd, const std::string& name);

// An output file the user named, for writing: created (0644) or truncated, or with
// `append` appended to; a symlink there is refused rather than followed.
Result<UniqueFd> create_output_file(const std::string& path, bool append = false);

}  // namespace perfbpf

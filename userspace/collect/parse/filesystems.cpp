#include "collect/parse/filesystems.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

#include "util/files.h"

namespace perfbpf {
namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + i + 1, s.begin() + i + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out +=
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool parse_u32(std::string_view s, uint32_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// Filesystems without data of their own (kernel views, memory-backed, images that are
// full by construction).
bool pseudo(std::string_view t) {
    static constexpr std::string_view kPseudo[] = {
        "proc",       "sysfs",      "cgroup",    "cgroup2", "devpts",      "devtmpfs", "tmpfs",
        "ramfs",      "securityfs", "debugfs",   "tracefs", "pstore",      "bpf",      "configfs",
        "fusectl",    "mqueue",     "hugetlbfs", "autofs",  "binfmt_misc", "efivarfs", "nsfs",
        "rpc_pipefs", "selinuxfs",  "squashfs",  "iso9660", "nfsd"};
    return std::ranges::find(kPseudo, t) != std::end(kPseudo);
}

bool remote(std::string_view t) {
    static constexpr std::string_view kRemote[] = {"nfs",  "nfs4",      "cifs", "smb3", "smbfs",
                                                   "ceph", "glusterfs", "9p",   "afs",  "sshfs"};
    if (t.starts_with("fuse") && t != "fuseblk") return true;  // fuseblk: ntfs-3g and the like
    return std::ranges::find(kRemote, t) != std::end(kRemote);
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    for (auto line : split_fields(text, "\n")) {
        auto f = split_fields(line, " ");
        // id parent major:minor root mountpoint options [optional...] - fstype source super
        auto dash = std::ranges::find(f, std::string_view("-"));
        if (f.size() < 6 || dash == f.end() || f.end() - dash < 3) continue;
        MountEntry m;
        auto colon = f[2].find(':');
        if (colon == std::string_view::npos || !parse_u32(f[2].substr(0, colon), m.major) ||
            !parse_u32(f[2].substr(colon + 1), m.minor))
            continue;
        m.root = unescape(f[3]);
        m.mountpoint = unescape(f[4]);
        m.fstype = std::string(dash[1]);
        m.source = unescape(dash[2]);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<MountEntry> measurable_mounts(const std::vector<MountEntry>& mounts) {
    std::vector<MountEntry> out;
    std::map<std::pair<uint32_t, uint32_t>, size_t> by_device;  // -> index in out
    for (const auto& m : mounts) {
        if (pseudo(m.fstype) || remote(m.fstype)) continue;
        auto [it, fresh] = by_device.try_emplace({m.major, m.minor}, out.size());
        if (fresh)
            out.push_back(m);
        else if (out[it->second].root != "/" && m.root == "/")
            out[it->second] = m;
    }
    return out;
}

std::string device_label(std::string_view source) {
    if (source.starts_with("/dev/")) source.remove_prefix(5);
    return std::string(source);
}

}  // namespace perfbpf

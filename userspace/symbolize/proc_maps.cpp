#include "symbolize/proc_maps.h"

#include <algorithm>
#include <charconv>

#include "util/files.h"

namespace perfbpf {
namespace {

bool parse_hex(std::string_view s, uint64_t& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::vector<Mapping> parse_proc_maps(std::string_view text) {
    std::vector<Mapping> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        // start-end perms offset dev inode [path]
        auto fields = split_fields(line, " ");
        if (fields.size() < 5) continue;
        Mapping m;
        auto dash = fields[0].find('-');
        if (dash == std::string_view::npos || !parse_hex(fields[0].substr(0, dash), m.start) ||
            !parse_hex(fields[0].substr(dash + 1), m.end) || !parse_hex(fields[2], m.file_offset))
            continue;
        m.executable = fields[1].size() >= 3 && fields[1][2] == 'x';
        m.readable = !fields[1].empty() && fields[1][0] == 'r';
        m.writable = fields[1].size() >= 2 && fields[1][1] == 'w';
        if (fields.size() >= 6) {
            // The path is the rest of the line after the inode (it may contain spaces).
            auto pos = static_cast<size_t>(fields[5].data() - line.data());
            m.path = std::string(trim(line.substr(pos)));
            const std::string_view deleted = " (deleted)";
            if (m.path.ends_with(deleted)) m.path.resize(m.path.size() - deleted.size());
        }
        out.push_back(std::move(m));
    }
    return out;
}

void MappingSet::merge(const std::vector<Mapping>& now) {
    for (const auto& m : now) {
        // Drop what the new range overlaps, keeping the parts outside it.
        std::vector<Mapping> kept;
        for (auto& old : maps_) {
            if (old.end <= m.start || old.start >= m.end) {
                kept.push_back(std::move(old));
                continue;
            }
            if (old.start < m.start) {
                Mapping left = old;
                left.end = m.start;
                kept.push_back(std::move(left));
            }
            if (old.end > m.end) {
                Mapping right = old;
                right.file_offset += m.end - old.start;
                right.start = m.end;
                kept.push_back(std::move(right));
            }
        }
        kept.push_back(m);
        maps_ = std::move(kept);
    }
    std::sort(maps_.begin(), maps_.end(),
              [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
}

const Mapping* MappingSet::find(uint64_t addr) const {
    auto it = std::upper_bound(maps_.begin(), maps_.end(), addr,
                               [](uint64_t a, const Mapping& m) { return a < m.start; });
    if (it == maps_.begin()) return nullptr;
    --it;
    return addr < it->end ? &*it : nullptr;
}

Result<std::vector<Mapping>> read_proc_maps(int pid, const std::string& proc_root) {
    auto text = read_file(proc_root + "/" + std::to_string(pid) + "/maps");
    if (!text) return std::unexpected(text.error());
    return parse_proc_maps(*text);
}

}  // namespace perfbpf

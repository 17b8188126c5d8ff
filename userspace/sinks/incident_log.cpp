#include "sinks/incident_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "util/files.h"
#include "util/safe_open.h"

namespace perfbpf {

Result<void> IncidentLog::open_current() {
    auto fd = open_in_dir(dirfd_, dir_, kIncidentLogFile, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (!fd) return std::unexpected(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0)
        return fail(dir_ + "/" + kIncidentLogFile + ": fstat: " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return fail(dir_ + "/" + kIncidentLogFile + " is not a regular file");
    fd_ = std::move(*fd);
    size_ = static_cast<uint64_t>(st.st_size);
    return {};
}

Result<void> IncidentLog::rotate() {
    fd_ = UniqueFd();
    if (::renameat(dirfd_, kIncidentLogFile, dirfd_, kIncidentLogOldFile) != 0 && errno != ENOENT)
        return fail(dir_ + "/" + kIncidentLogFile + ": rename to " + kIncidentLogOldFile + ": " +
                    errno_text(errno));
    return open_current();
}

Result<void> IncidentLog::append(const std::string& line) {
    if (!fd_.valid())
        if (auto r = open_current(); !r) return r;
    const uint64_t n = line.size() + 1;
    // A record larger than the cap still gets a file of its own rather than being lost.
    if (size_ > 0 && size_ + n > max_bytes_)
        if (auto r = rotate(); !r) return r;
    if (auto r = write_all(fd_.get(), dir_ + "/" + kIncidentLogFile, line + "\n"); !r) {
        // The next append reopens: a full disk now need not mean one forever.
        fd_ = UniqueFd();
        return r;
    }
    size_ += n;
    return {};
}

Result<std::vector<std::string>> read_incident_log(const std::string& dir) {
    std::vector<std::string> lines;
    // 2 x the largest cap the config allows would not fit in memory; a reader takes what a
    // default-sized file holds and more, and says so beyond it.
    constexpr size_t kMaxRead = size_t{256} << 20;
    for (const char* name : {kIncidentLogOldFile, kIncidentLogFile}) {
        const std::string path = dir + "/" + name;
        auto text = read_regular_file(path, kMaxRead);
        if (!text) {
            if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) continue;
            return std::unexpected(text.error());
        }
        size_t pos = 0;
        while (pos < text->size()) {
            const size_t nl = text->find('\n', pos);
            if (nl == std::string::npos) break;
            if (nl > pos) lines.emplace_back(text->substr(pos, nl - pos));
            pos = nl + 1;
        }
    }
    return lines;
}

}  // namespace perfbpf

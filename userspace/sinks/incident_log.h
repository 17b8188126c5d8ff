// STATE_DIR/incidents.jsonl: the daemon's incidents, alert investigations and their
// evidence, one JSON object per line, appended as they happen so a crash loses nothing
// written. Past a size cap the file is renamed to incidents.jsonl.1 (replacing the older
// one) and a new one started: at most twice the cap on disk. Opened inside the state dir
// by its fd and never through a symlink (util/safe_open.h), like the status file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {

inline constexpr const char* kIncidentLogFile = "incidents.jsonl";
inline constexpr const char* kIncidentLogOldFile = "incidents.jsonl.1";

class IncidentLog {
  public:
    // `dirfd` must outlive the log.
    IncidentLog(int dirfd, std::string dir, uint64_t max_bytes)
        : dirfd_(dirfd), dir_(std::move(dir)), max_bytes_(max_bytes) {}

    // One record (a line without its newline); rotates first when it would pass the cap.
    Result<void> append(const std::string& line);
    void set_max_bytes(uint64_t b) { max_bytes_ = b; }

  private:
    Result<void> open_current();
    Result<void> rotate();

    int dirfd_;
    std::string dir_;
    uint64_t max_bytes_;
    UniqueFd fd_;
    uint64_t size_ = 0;
};

// Every record of the rotated file then the current one, oldest first; missing files are
// no records. A line that is not complete (a crash mid-write) is left out.
Result<std::vector<std::string>> read_incident_log(const std::string& dir);

}  // namespace perfbpf

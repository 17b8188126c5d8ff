// Recordings: snapshots as JSON lines (the same fields as `top --json`), written by
// `top --record FILE` and read back for replay (`top --replay FILE`) and by unit tests
// that assert verdicts on real data.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/snapshot.h"
#include "util/result.h"

namespace perfbpf {

inline constexpr uint64_t kMaxSnapshotIntervalNs = 86'400'000'000'000;  // a day

// The inverse of snapshot_json (verdicts are recomputed on replay, not read).
Result<Snapshot> snapshot_from_json(const nlohmann::json& j);

// Bounds on what replay reads. A line is one interval (those in tests/fixtures/recordings
// are 12-15 KB), so these stop /dev/zero-like input, not real recordings.
inline constexpr size_t kMaxRecordingLineBytes = size_t{64} << 20;
inline constexpr size_t kMaxRecordingBytes = size_t{1} << 30;

Result<std::vector<Snapshot>> read_recording(const std::string& path);

class Recorder {
  public:
    // Appends to `path` (created if missing).
    static Result<Recorder> open(const std::string& path);
    // Writes one line and flushes, so a killed run keeps every complete interval.
    Result<void> append(const Snapshot& s);

  private:
    struct Closer {
        void operator()(FILE* f) const {
            if (f) std::fclose(f);
        }
    };
    std::unique_ptr<FILE, Closer> file_;
    std::string path_;
};

}  // namespace perfbpf

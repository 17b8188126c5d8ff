// The parsers perfbpf runs on input it does not control, as fuzz entry points: each takes
// arbitrary bytes and must return (an error is fine) without crashing, hanging or leaking.
// The libFuzzer targets (PERFBPF_FUZZ) call them, and unit_tests replays every corpus and
// regression input through the same functions, so a fixed crash stays fixed without clang.
#pragma once

#include <string_view>

namespace perfbpf::fuzz {

void config(std::string_view data);     // TOML configuration text
void recording(std::string_view data);  // a `top --record` file, through read_recording
void journal(std::string_view data);    // a tune journal, through replay_journal
void procfs(std::string_view data);     // /proc files: stat, meminfo, pressure, diskstats...
void mounts(std::string_view data);     // mounts/mountinfo and /proc/PID/cgroup
// Ring-buffer events and the probe families' map records, through the decoders and delta
// logic the collector runs on them, then the snapshot's derived values and its series.
void events(std::string_view data);

struct Entry {
    const char* name;  // its folder under tests/fuzz/corpus and tests/fuzz/regressions
    void (*run)(std::string_view);
};
inline constexpr Entry kEntries[] = {{"config", config},   {"recording", recording},
                                     {"journal", journal}, {"procfs", procfs},
                                     {"mounts", mounts},   {"events", events}};

}  // namespace perfbpf::fuzz

// Plain text rendering of a snapshot, for `top` without a terminal (logs, pipes).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detect/verdict.h"
#include "model/snapshot.h"
#include "sinks/top_view.h"

namespace perfbpf {

// What the plain stream shows (`top --plain`, pipes): like pidstat or iostat, one table
// per interval.
struct TextView {
    size_t max_rows = 30;
    // Only this view's table; unset: the processes, then the devices that did I/O.
    std::optional<TopView> view;
    std::optional<TopSort> sort;  // of the table shown (or the processes'); unset: default
};

// Processes that exited in the interval end their line with kExitedMark.
inline constexpr std::string_view kExitedMark = "  <exited>";

std::string render_text(const Snapshot& s, const std::vector<Verdict>& verdicts,
                        const TextView& view, const FiringAlerts& alerts = {});

}  // namespace perfbpf

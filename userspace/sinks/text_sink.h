// Plain text rendering of a snapshot, for `top` without a terminal (logs, pipes).
#pragma once

#include <string>
#include <vector>

#include "detect/verdict.h"
#include "model/snapshot.h"
#include "sinks/top_view.h"

namespace perfbpf {

std::string render_text(const Snapshot& s, const std::vector<Verdict>& verdicts, size_t max_rows,
                        const FiringAlerts& alerts = {});

}  // namespace perfbpf

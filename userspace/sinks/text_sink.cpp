#include "sinks/text_sink.h"

#include <string_view>

#include "sinks/top_view.h"

namespace perfbpf {
namespace {

// Wide enough for every column of the full-screen view, so nothing is dropped in logs.
constexpr size_t kTextWidth = 200;
// Tall enough for the full header whatever the row count (the table is cut to max_rows).
constexpr size_t kTextChrome = 60;

void append_line(std::string& out, std::string_view line) {
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    out.append(line);
    out += '\n';
}

void append_table(std::string& out, const TopFrame& frame, size_t max_rows) {
    append_line(out, frame.column_line);
    for (size_t i = 0; i < frame.rows.size() && i < max_rows; ++i) {
        const TopRow& row = frame.rows[i];
        if (!row.exited) {
            append_line(out, row.text);
            continue;
        }
        std::string line = row.text;
        while (!line.empty() && line.back() == ' ') line.pop_back();
        append_line(out, line + std::string(kExitedMark));
    }
}

TopFrame table(const Snapshot& s, const std::vector<Verdict>& verdicts, TopView v,
               const std::optional<TopSort>& sort, size_t rows, const FiringAlerts& alerts) {
    TopUiState state;
    state.view = v;
    if (sort) state.sort[static_cast<size_t>(v)] = *sort;
    return build_top_frame(&s, verdicts, state, kTextWidth, rows + kTextChrome, alerts);
}

}  // namespace

std::string render_text(const Snapshot& s, const std::vector<Verdict>& verdicts,
                        const TextView& view, const FiringAlerts& alerts) {
    // The same view model as the full-screen top, rendered once per interval: the header,
    // the chosen view's table, or the busiest processes then the devices that did I/O.
    const TopView first = view.view.value_or(TopView::processes);
    TopFrame frame = table(s, verdicts, first, view.sort, view.max_rows, alerts);
    std::string out;
    for (const auto& line : frame.header) append_line(out, line.text);
    append_table(out, frame, view.max_rows);
    if (!view.view && !s.devices.empty()) {
        TopFrame devices = table(s, verdicts, TopView::devices, std::nullopt, s.devices.size(), {});
        append_table(out, devices, s.devices.size());
    }
    return out;
}

}  // namespace perfbpf

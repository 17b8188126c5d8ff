#include "sinks/text_sink.h"

#include <string_view>

#include "sinks/top_view.h"

namespace perfbpf {
namespace {

// Wide enough for every column of the full-screen view, so nothing is dropped in logs.
constexpr size_t kTextWidth = 200;

void append_line(std::string& out, std::string_view line) {
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    out.append(line);
    out += '\n';
}

void append_table(std::string& out, const TopFrame& frame, size_t max_rows) {
    append_line(out, frame.column_line);
    for (size_t i = 0; i < frame.rows.size() && i < max_rows; ++i)
        append_line(out, frame.rows[i].text);
}

}  // namespace

std::string render_text(const Snapshot& s, const std::vector<Verdict>& verdicts, size_t max_rows,
                        const FiringAlerts& alerts) {
    // The same view model as the full-screen top, rendered once per interval: the header,
    // the busiest processes, then the devices that did I/O.
    TopUiState state;
    const size_t chrome = 12;  // header, column line and status lines around the rows
    TopFrame frame = build_top_frame(&s, verdicts, state, kTextWidth, max_rows + chrome, alerts);
    std::string out;
    for (const auto& line : frame.header) append_line(out, line.text);
    append_table(out, frame, max_rows);
    if (!s.devices.empty()) {
        state.view = TopView::devices;
        TopFrame devices =
            build_top_frame(&s, verdicts, state, kTextWidth, s.devices.size() + chrome);
        append_table(out, devices, s.devices.size());
    }
    return out;
}

}  // namespace perfbpf

// The view model of the full-screen `top`: what to show for a Snapshot, its verdicts and
// the UI state (view, sort, filter, pause, selection), as plain lines and cells; and the
// keys as a pure state machine. No ncurses here: sinks/tui.cpp only paints a TopFrame, so
// everything a user sees is unit-tested without a terminal.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detect/verdict.h"
#include "model/daemon_status.h"
#include "model/snapshot.h"
#include "model/thread_sample.h"
#include "model/top_action.h"
#include "util/enum_table.h"

namespace perfbpf {

enum class TopView { processes, cgroups, devices, cpus };
inline constexpr size_t kTopViewCount = 4;
inline constexpr auto kTopViewNames =
    enum_table<TopView>("view", {{TopView::processes, "processes"},
                                 {TopView::cgroups, "cgroups"},
                                 {TopView::devices, "devices"},
                                 {TopView::cpus, "cpus"}});
static_assert(kTopViewNames.rows().size() == kTopViewCount);
inline const char* top_view_name(TopView v) {
    return kTopViewNames.name(v);
}
// The inverse of top_view_name; nullopt for anything else.
inline std::optional<TopView> parse_top_view(std::string_view name) {
    return kTopViewNames.find(name);
}

enum class TopMode {
    normal,
    filter,          // editing the filter text; the table previews it as it is typed
    help,            // help overlay open; any key closes it
    detail,          // the selected row's pane: every field, its histograms; Esc closes it
    confirm_signal,  // "send SIGTERM to PID comm? [y/N]"
    renice,          // typing the nice increment for the selected process
};

// The selected row as the key handler needs it.
struct TopRowRef {
    std::string id;  // pid, cgroup path, device name or CPU number; empty: no row
    int pid = 0;     // processes view only (a thread row: its tid)
    std::string comm;
    bool thread = false;  // a row of `H`'s threads, not a process
};

// Keys as the renderer passes them: printable ASCII as itself, control characters as
// their codes, the rest as these values (outside the range of any character).
namespace top_key {
inline constexpr int tab = '\t';
inline constexpr int enter = '\n';
inline constexpr int escape = 27;
inline constexpr int backspace = 127;
inline constexpr int ctrl_l = 12;
inline constexpr int ctrl_u = 21;
inline constexpr int up = 0x10000;
inline constexpr int down = 0x10001;
inline constexpr int page_up = 0x10002;
inline constexpr int page_down = 0x10003;
inline constexpr int home = 0x10004;
inline constexpr int end = 0x10005;
inline constexpr int back_tab = 0x10006;
inline constexpr int resize = 0x10007;
inline constexpr int left = 0x10008;   // in a replay or the history: one interval back
inline constexpr int right = 0x10009;  // and forward (sinks/timeline.h)
}  // namespace top_key

struct TopSort {
    std::string column;  // a column id of the view ("cpu", "rss", ...)
    bool descending = true;
};
// Sorting by a column of the view named by its id or its title, any case ("rss", "RSS+",
// "IOLAT99"), in the direction its key picks (numbers high first); nullopt if none.
std::optional<TopSort> top_sort_by(TopView v, std::string_view column);

struct TopUiState {
    TopView view = TopView::processes;
    TopMode mode = TopMode::normal;
    std::array<TopSort, kTopViewCount> sort = {TopSort{"cpu", true}, TopSort{"cpu", true},
                                               TopSort{"util", true}, TopSort{"cpu", false}};
    // Applied filters, one per view like the sort: a case-insensitive substring of the
    // name or cgroup path, or a pid (CPU number) exactly.
    std::array<std::string, kTopViewCount> filters;
    std::string filter_edit;  // being typed in TopMode::filter
    // Freezes the display; the collector keeps running so no interval is lost, and sort,
    // filter and views still work on the frozen data.
    bool paused = false;
    bool ended = false;  // the source has nothing more (the end of a replay)
    // Seekable view (replay, history): where in time it is, the top line of the header.
    // The time keys (sinks/timeline.h) are then the view's: selection is Up/Down only.
    std::string timeline;
    size_t selected = 0;   // row index in the sorted, filtered table
    size_t first_row = 0;  // scroll position
    std::string message;   // one-key notice ("no RUNQ99 column in the devices view")
    bool quit = false;
    // `e`: hide processes that exited or are younger than kShortLivedIntervals intervals
    // (a build's hundreds of cat/sed), in the processes view.
    bool hide_short_lived = false;
    // `t`: the processes view as a tree by parent (ppid), the cgroups view by path.
    bool tree = false;
    // `H`: the process whose threads are shown under it (0: none), and its threads as the
    // tui last read them (collect/thread_reader.h) for each interval.
    int threads_pid = 0;
    std::vector<ThreadSample> threads;
    std::string detail;          // the id of the row whose pane is open (TopMode::detail)
    size_t detail_first = 0;     // the pane's scroll position
    std::string detail_cmdline;  // the tui fills it for a process pane (Kind::describe)
    TopAction pending;           // awaiting y (signal) or the typed value (renice)
    std::string prompt_edit;     // the renice value being typed
    TopAction action;            // for the tui to carry out now; cleared by the next key

    const TopSort& current_sort() const { return sort[static_cast<size_t>(view)]; }
    const std::string& filter() const { return filters[static_cast<size_t>(view)]; }
    std::string& filter() { return filters[static_cast<size_t>(view)]; }
    // The filter the table uses: the one being typed while editing.
    const std::string& active_filter() const {
        return mode == TopMode::filter ? filter_edit : filter();
    }
};

// What the key handler needs to know about the table on screen.
struct TopKeyContext {
    size_t rows = 0;       // rows after filtering
    size_t page_rows = 1;  // table rows that fit on the screen
    TopRowRef selected;
};

inline constexpr double kShortLivedIntervals = 2;

TopUiState handle_top_key(TopUiState state, int key, const TopKeyContext& ctx);

// Column ids of a view, left to right (the order `<` and `>` move the sort through).
std::vector<std::string> top_column_ids(TopView v);

struct TopColumn {
    std::string id;
    std::string title;
    size_t offset = 0;  // first character in the line
    size_t width = 0;
    bool left_align = false;
    bool sorted = false;
};

struct TopLine {
    std::string text;
    Severity severity = Severity::ok;
    bool emphasis = false;  // verdict lines that are not ok, the column header
};

struct TopRow {
    std::string text;  // cells padded to their columns, fitted to the width
    std::vector<std::string> cells;
    Severity severity = Severity::ok;  // the subject of a verdict that is not ok
    bool exited = false;
    bool selected = false;
};

struct TopFrame {
    std::vector<TopLine> header;  // load, CPU, memory, PSI, drops and probes, verdicts
    std::vector<TopColumn> columns;
    std::string column_line;   // the column titles, aligned like the rows
    std::vector<TopRow> rows;  // only the rows that fit, from first_row on
    size_t total_rows = 0;     // after filtering
    size_t first_row = 0;
    size_t page_rows = 0;
    TopLine status;                 // bottom line: view, sort, filter, pause; or the filter prompt
    size_t cursor_column = 0;       // where the text cursor goes while editing the filter
    std::vector<std::string> help;  // the help overlay, when open
    std::vector<TopLine> detail;    // the detail pane, when open: replaces the table
    TopRowRef selected;

    TopKeyContext key_context() const { return {total_rows, page_rows, selected}; }
};

using FiringAlerts = std::vector<DaemonStatus::FiringAlert>;

// `snapshot` is null before the first interval ends. width/height: the screen in cells.
// `alerts`: what the daemon had firing at the snapshot's time (an ALERTS line, worst first).
TopFrame build_top_frame(const Snapshot* snapshot, const std::vector<Verdict>& verdicts,
                         const TopUiState& state, size_t width, size_t height,
                         const FiringAlerts& alerts = {});

// `seekable`: the keys of a replay or the history, where the time keys move through time.
std::vector<std::string> top_help_lines(bool seekable = false);

}  // namespace perfbpf

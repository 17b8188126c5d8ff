#include "sinks/top_view.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <span>
#include <type_traits>

#include "model/catalogue.h"
#include "model/series_extract.h"
#include "sinks/top_columns.h"
#include "util/format.h"

namespace perfbpf {

namespace {

// ---------------------------------------------------------------------------------------
// Columns (sinks/top_columns.cpp)

// The same questions asked of any view's column table, without knowing its row type.
struct ColumnInfo {
    std::string id, title;
    size_t width;
    bool left_align;
    int drop_rank;
    char sort_key;
    bool descending;
};

template <class Row>
std::vector<ColumnInfo> infos() {
    std::vector<ColumnInfo> out;
    for (const auto& c : top_columns<Row>()) {
        const auto& d = *c.def;
        out.push_back(
            {d.id, d.title, d.width, d.left_align, d.drop_rank, d.sort_key, d.descending});
    }
    return out;
}

std::vector<ColumnInfo> column_infos(TopView v) {
    switch (v) {
        case TopView::processes:
            return infos<ProcessSample>();
        case TopView::cgroups:
            return infos<CgroupSample>();
        case TopView::devices:
            return infos<DeviceSample>();
        case TopView::cpus:
            return infos<CpuSample>();
    }
    return {};
}

// ---------------------------------------------------------------------------------------
// Keys

TopView next_view(TopView v, int step) {
    int n = static_cast<int>(kTopViewCount);
    return static_cast<TopView>((static_cast<int>(v) + step + n) % n);
}

void switch_view(TopUiState& s, TopView v) {
    s.view = s.view == v ? TopView::processes : v;  // the view's key again goes back
    s.selected = 0;
    s.first_row = 0;
}

void set_sort_column(TopUiState& s, const ColumnInfo& col) {
    TopSort& sort = s.sort[static_cast<size_t>(s.view)];
    if (sort.column == col.id) return;
    sort.column = col.id;
    sort.descending = col.descending;
}

// A sort key picks the first of its columns; pressed again, the next one (I: read, write).
void sort_by_key(TopUiState& s, char key) {
    auto cols = column_infos(s.view);
    std::vector<const ColumnInfo*> matching;
    for (const auto& c : cols)
        if (c.sort_key == key) matching.push_back(&c);
    if (matching.empty()) {
        s.message = std::string("no column for ") + key + " in the " + top_view_name(s.view) +
                    " view (? for help)";
        return;
    }
    const std::string& current = s.current_sort().column;
    size_t pick = 0;
    for (size_t i = 0; i < matching.size(); ++i)
        if (matching[i]->id == current) pick = (i + 1) % matching.size();
    set_sort_column(s, *matching[pick]);
}

void move_sort_column(TopUiState& s, int step) {
    auto cols = column_infos(s.view);
    const std::string& current = s.current_sort().column;
    size_t at = 0;
    for (size_t i = 0; i < cols.size(); ++i)
        if (cols[i].id == current) at = i;
    if (step < 0 && at == 0) return;
    size_t to = std::min(cols.size() - 1, step < 0 ? at - 1 : at + 1);
    set_sort_column(s, cols[to]);
}

void move_selection(TopUiState& s, long delta, const TopKeyContext& ctx) {
    if (ctx.rows == 0) {
        s.selected = 0;
        s.first_row = 0;
        return;
    }
    long last = static_cast<long>(ctx.rows) - 1;
    long to = std::clamp(static_cast<long>(s.selected) + delta, 0L, last);
    s.selected = static_cast<size_t>(to);
    size_t page = std::max<size_t>(1, ctx.page_rows);
    if (s.selected < s.first_row) s.first_row = s.selected;
    if (s.selected >= s.first_row + page) s.first_row = s.selected + 1 - page;
}

bool printable(int key) {
    return key >= 32 && key < 127;
}

TopUiState filter_key(TopUiState s, int key) {
    switch (key) {
        case top_key::enter:
        case '\r':
            s.filter() = s.filter_edit;
            s.mode = TopMode::normal;
            s.selected = 0;
            s.first_row = 0;
            return s;
        case top_key::escape:
            s.filter_edit.clear();
            s.mode = TopMode::normal;
            return s;
        case top_key::backspace:
        case 8:  // ^H
            if (!s.filter_edit.empty()) s.filter_edit.pop_back();
            return s;
        case top_key::ctrl_u:
            s.filter_edit.clear();
            return s;
        default:
            if (printable(key)) s.filter_edit.push_back(static_cast<char>(key));
            return s;
    }
}

// k and r act on a process: the selected row of the processes view.
bool process_for_action(TopUiState& s, const TopKeyContext& ctx, const char* what) {
    if (s.view != TopView::processes || ctx.selected.pid <= 0) {
        s.message = std::string(what) + " to the selected process: none selected here";
        return false;
    }
    return true;
}

// H: the selected process's threads under it; again (on it or one of its threads) hides
// them. The tui reads them (TopAction::Kind::threads) and again each interval.
void threads_key(TopUiState& s, const TopKeyContext& ctx) {
    const bool shown_here = s.threads_pid != 0 && (ctx.selected.pid == s.threads_pid ||
                                                   ctx.selected.thread || ctx.selected.pid <= 0);
    if (shown_here || (s.threads_pid != 0 && s.view != TopView::processes)) {
        s.threads_pid = 0;
        s.threads.clear();
        s.action = {TopAction::Kind::threads, 0, 0, ""};
        s.message = "threads hidden";
        return;
    }
    if (s.view != TopView::processes || ctx.selected.pid <= 0) {
        s.message = "H shows the threads of the selected process: none selected here";
        return;
    }
    s.threads_pid = ctx.selected.pid;
    s.threads.clear();
    s.action = {TopAction::Kind::threads, ctx.selected.pid, 0, ctx.selected.comm};
}

TopUiState detail_key(TopUiState s, int key, const TopKeyContext& ctx) {
    const long page = static_cast<long>(std::max<size_t>(1, ctx.page_rows));
    long to = static_cast<long>(s.detail_first);
    switch (key) {
        case top_key::escape:
        case top_key::enter:
        case '\r':
            s.mode = TopMode::normal;
            s.detail.clear();
            s.detail_cmdline.clear();
            return s;
        case 'q':
            s.quit = true;
            return s;
        case top_key::up:
            --to;
            break;
        case top_key::down:
            ++to;
            break;
        case top_key::page_up:
            to -= page;
            break;
        case top_key::page_down:
        case ' ':
            to += page;
            break;
        case top_key::home:
            to = 0;
            break;
        default:
            s.message = "Esc closes the pane";
            return s;
    }
    // ctx.rows: the pane's lines; stop where its last line is at the bottom.
    long last = std::max(0L, static_cast<long>(ctx.rows) - page);
    s.detail_first = static_cast<size_t>(std::clamp(to, 0L, last));
    return s;
}

TopUiState confirm_key(TopUiState s, int key) {
    s.mode = TopMode::normal;
    if (key == 'y' || key == 'Y')
        s.action = s.pending;
    else
        s.message = "no signal sent";
    s.pending = {};
    return s;
}

TopUiState renice_key(TopUiState s, int key) {
    switch (key) {
        case top_key::escape:
            s.mode = TopMode::normal;
            s.pending = {};
            s.message = "not reniced";
            return s;
        case top_key::backspace:
        case 8:
            if (!s.prompt_edit.empty()) s.prompt_edit.pop_back();
            return s;
        case top_key::enter:
        case '\r': {
            s.mode = TopMode::normal;
            int value = 0;
            const char* b = s.prompt_edit.c_str() + (s.prompt_edit.starts_with('+') ? 1 : 0);
            const char* e = s.prompt_edit.c_str() + s.prompt_edit.size();
            auto [end, ec] = std::from_chars(b, e, value);
            if (ec != std::errc{} || end != e || value == 0 || value < -39 || value > 39) {
                s.message = "renice: \"" + s.prompt_edit +
                            "\" is not an increment like +5 or -3 (nonzero, within 39)";
            } else {
                s.action = s.pending;
                s.action.value = value;
            }
            s.pending = {};
            s.prompt_edit.clear();
            return s;
        }
        default:
            if ((key >= '0' && key <= '9') || ((key == '+' || key == '-') && s.prompt_edit.empty()))
                s.prompt_edit.push_back(static_cast<char>(key));
            return s;
    }
}

}  // namespace

std::optional<TopSort> top_sort_by(TopView v, std::string_view column) {
    auto same = [&](const std::string& a) {
        return a.size() == column.size() &&
               std::equal(a.begin(), a.end(), column.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) ==
                          std::tolower(static_cast<unsigned char>(y));
               });
    };
    for (const auto& c : column_infos(v))
        if (same(c.id) || same(c.title)) return TopSort{c.id, c.descending};
    return std::nullopt;
}

std::vector<std::string> top_column_ids(TopView v) {
    std::vector<std::string> ids;
    for (const auto& c : column_infos(v)) ids.push_back(c.id);
    return ids;
}

TopUiState handle_top_key(TopUiState s, int key, const TopKeyContext& ctx) {
    s.message.clear();
    s.action = {};
    if (key == top_key::resize || key == top_key::ctrl_l) return s;  // only a redraw
    if (s.mode == TopMode::filter) return filter_key(std::move(s), key);
    if (s.mode == TopMode::detail) return detail_key(std::move(s), key, ctx);
    if (s.mode == TopMode::confirm_signal) return confirm_key(std::move(s), key);
    if (s.mode == TopMode::renice) return renice_key(std::move(s), key);
    if (s.mode == TopMode::help) {
        if (key == 'q') s.quit = true;
        s.mode = TopMode::normal;
        return s;
    }
    switch (key) {
        case 'q':
            s.quit = true;
            break;
        case '?':
        case 'h':
            s.mode = TopMode::help;
            break;
        case '/':
            s.mode = TopMode::filter;
            s.filter_edit = s.filter();
            break;
        case top_key::escape:
            if (!s.filter().empty()) {
                s.filter() = "";
                s.selected = 0;
                s.first_row = 0;
            }
            break;
        case 'p':
            s.paused = !s.paused;
            break;
        case top_key::tab:
            s.view = next_view(s.view, 1);
            s.selected = s.first_row = 0;
            break;
        case top_key::back_tab:
            s.view = next_view(s.view, -1);
            s.selected = s.first_row = 0;
            break;
        case 'c':
            switch_view(s, TopView::cgroups);
            break;
        case 'd':
            switch_view(s, TopView::devices);
            break;
        case '1':
            switch_view(s, TopView::cpus);
            break;
        case '<':
            move_sort_column(s, -1);
            break;
        case '>':
            move_sort_column(s, 1);
            break;
        case 'R': {
            TopSort& sort = s.sort[static_cast<size_t>(s.view)];
            sort.descending = !sort.descending;
            break;
        }
        case top_key::up:
            move_selection(s, -1, ctx);
            break;
        case top_key::down:
            move_selection(s, 1, ctx);
            break;
        case top_key::enter:
        case '\r':
            if (ctx.selected.id.empty()) {
                s.message = "no row to show";
                break;
            }
            if (ctx.selected.thread) {  // the pane holds a process's fields, not a thread's
                s.message = "thread " + ctx.selected.id + " of " + std::to_string(s.threads_pid) +
                            ": its row is all perfbpf has of it; Enter on the process";
                break;
            }
            s.mode = TopMode::detail;
            s.detail = ctx.selected.id;
            s.detail_first = 0;
            s.detail_cmdline.clear();
            if (ctx.selected.pid > 0)
                s.action = {TopAction::Kind::describe, ctx.selected.pid, 0, ctx.selected.comm};
            break;
        case 'e':
            s.hide_short_lived = !s.hide_short_lived;
            s.selected = s.first_row = 0;
            s.message = s.hide_short_lived ? "hiding exited and short-lived processes"
                                           : "showing every process";
            break;
        case 'H':
            threads_key(s, ctx);
            break;
        case 't':
            if (s.view != TopView::processes && s.view != TopView::cgroups) {
                s.message = "t: a tree in the processes and cgroups views";
                break;
            }
            s.tree = !s.tree;
            s.selected = s.first_row = 0;
            s.message = !s.tree                        ? "tree off: sorted rows"
                        : s.view == TopView::processes ? "tree by parent process"
                                                       : "tree by cgroup path";
            break;
        case 'k':
            if (process_for_action(s, ctx, "k sends a signal")) {
                s.pending = {TopAction::Kind::signal, ctx.selected.pid, SIGTERM, ctx.selected.comm};
                s.mode = TopMode::confirm_signal;
            }
            break;
        case 'r':
            if (process_for_action(s, ctx, "r renices")) {
                s.pending = {TopAction::Kind::renice, ctx.selected.pid, 0, ctx.selected.comm};
                s.prompt_edit.clear();
                s.mode = TopMode::renice;
            }
            break;
        case top_key::page_up:
            move_selection(s, -static_cast<long>(std::max<size_t>(1, ctx.page_rows)), ctx);
            break;
        case top_key::page_down:
        case ' ':
            move_selection(s, static_cast<long>(std::max<size_t>(1, ctx.page_rows)), ctx);
            break;
        case top_key::home:
            move_selection(s, -static_cast<long>(ctx.rows), ctx);
            break;
        case top_key::end:
            move_selection(s, static_cast<long>(ctx.rows), ctx);
            break;
        case top_key::left:
        case top_key::right:
            break;  // time keys: the seekable view takes them before they get here
        case 'P':
        case 'M':
        case 'N':
        case 'Q':
        case 'O':
        case 'I':
        case 'L':
        case 'T':
        case 'X':
        case 'G':
        case 'U':
            sort_by_key(s, static_cast<char>(key));
            break;
        default:
            s.message = "unknown key (? for help)";
            break;
    }
    return s;
}

namespace {

// ---------------------------------------------------------------------------------------
// Frame

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
}

bool contains_ci(const std::string& hay, const std::string& needle_lower) {
    return lower(hay).find(needle_lower) != std::string::npos;
}

// Filters: a number matches a pid (or CPU number) exactly; text matches names and cgroup
// paths as a case-insensitive substring.
bool matches(const ProcessSample& p, const std::string& f) {
    if (f.empty()) return true;
    // Digits alone are a pid and nothing else: as a substring they also hit the hex ids in
    // container cgroup paths (pid 6366 matched /process_api/a75d07c63663bf... and 14 others).
    if (all_digits(f)) return std::to_string(p.pid) == f;
    std::string n = lower(f);
    return contains_ci(p.comm, n) || contains_ci(p.cgroup, n);
}
bool matches(const CgroupSample& c, const std::string& f) {
    return f.empty() || contains_ci(c.path, lower(f));
}
bool matches(const DeviceSample& d, const std::string& f) {
    return f.empty() || contains_ci(d.name, lower(f));
}
bool matches(const CpuSample& c, const std::string& f) {
    if (f.empty()) return true;
    if (all_digits(f)) return std::to_string(c.cpu) == f;
    return contains_ci("cpu" + std::to_string(c.cpu), lower(f));
}

std::string fit_cell(const std::string& text, size_t width, bool left_align, bool keep_tail) {
    if (text.size() > width) {
        if (keep_tail && width > 2) return ".." + text.substr(text.size() - (width - 2));
        return text.substr(0, width);
    }
    std::string pad(width - text.size(), ' ');
    return left_align ? text + pad : pad + text;
}

std::string fit_line(std::string s, size_t width) {
    if (s.size() > width) s.resize(width);
    return s;
}

std::set<std::string> attached_families(const Snapshot& s) {
    std::set<std::string> out;
    for (const auto& p : s.probes)
        if (p.attached) out.insert(p.family);
    return out;
}

// Which table rows a verdict that is not ok names: "pid 123 comm" or a device name.
struct Subjects {
    std::map<int, Severity> pids;
    std::map<std::string, Severity> devices;
};

Subjects verdict_subjects(const std::vector<Verdict>& verdicts) {
    Subjects out;
    for (const auto& v : verdicts) {
        if (v.severity == Severity::ok || v.subject.empty()) continue;
        if (v.subject.starts_with("pid ")) {
            int pid = std::atoi(v.subject.c_str() + 4);
            Severity& s = out.pids[pid];
            s = std::max(s, v.severity);
        } else {
            Severity& s = out.devices[v.subject];
            s = std::max(s, v.severity);
        }
    }
    return out;
}

Severity row_severity(const ProcessSample& p, const Subjects& s) {
    auto it = s.pids.find(p.pid);
    return it == s.pids.end() ? Severity::ok : it->second;
}
Severity row_severity(const DeviceSample& d, const Subjects& s) {
    auto it = s.devices.find(d.name);
    return it == s.devices.end() ? Severity::ok : it->second;
}
Severity row_severity(const CgroupSample&, const Subjects&) {
    return Severity::ok;
}
Severity row_severity(const CpuSample&, const Subjects&) {
    return Severity::ok;
}
bool row_exited(const ProcessSample& p) {
    return p.exited;
}

TopRowRef row_ref(const ProcessSample& p) {
    return {std::to_string(p.pid), p.pid, p.comm};
}
TopRowRef row_ref(const CgroupSample& c) {
    return {c.path, 0, ""};
}
TopRowRef row_ref(const DeviceSample& d) {
    return {d.name, 0, ""};
}
TopRowRef row_ref(const CpuSample& c) {
    return {std::to_string(c.cpu), 0, ""};
}

// `e`: a process that exited, or started less than kShortLivedIntervals ago (its start time
// unknown counts as young: /proc never saw it).
bool short_lived(const ProcessSample& p, const Snapshot& snap, double interval_s) {
    return p.exited || process_age_s(p, snap.end_monotonic_ns) < kShortLivedIntervals * interval_s;
}
bool hidden(const ProcessSample& p, const Snapshot& snap, const TopUiState& st, double secs) {
    return st.hide_short_lived && short_lived(p, snap, secs);
}
template <class Row>
bool hidden(const Row&, const Snapshot&, const TopUiState&, double) {
    return false;
}
template <class Row>
bool row_exited(const Row&) {
    return false;
}

// The columns that show the worst verdict's resource: on a narrow screen they stay, so
// the problem the header names is visible in the table (a network verdict keeps TX/RX/RETR).
std::set<std::string> verdict_columns(const std::vector<Verdict>& verdicts) {
    const Verdict* worst = nullptr;
    for (const auto& v : verdicts)
        if (v.severity != Severity::ok && (!worst || v.severity > worst->severity)) worst = &v;
    if (!worst) return {};
    if (worst->resource == "network") return {"tx", "rx", "retrans"};
    if (worst->resource == "disk") return {"read", "write", "iolat", "p99", "util"};
    if (worst->resource == "memory") return {"rss", "rss_growth"};
    if (worst->resource == "cpu") return {"runq", "busy"};
    return {};
}

// Chooses the columns that fit `width`: drops by rank (never rank 0, the sorted column or
// one the worst verdict keeps), then gives spare width to a flexible column.
template <class Row>
std::vector<size_t> fit_columns(std::span<const ResolvedColumn<Row>> cols,
                                const std::string& sorted, const std::set<std::string>& kept,
                                size_t width, std::vector<size_t>& widths) {
    const size_t N = cols.size();
    auto def = [&](size_t i) -> const TopColumnDef<Row>& { return *cols[i].def; };
    std::vector<size_t> shown;
    for (size_t i = 0; i < N; ++i) shown.push_back(i);
    auto total = [&] {
        size_t t = 0;
        for (size_t i : shown) t += def(i).width;
        return t + (shown.empty() ? 0 : shown.size() - 1);
    };
    while (total() > width) {
        size_t victim = N;
        for (size_t i : shown) {
            const auto& d = def(i);
            if (d.drop_rank == 0 || d.id == sorted || kept.contains(d.id)) continue;
            if (victim == N || d.drop_rank >= def(victim).drop_rank) victim = i;
        }
        if (victim == N) break;
        std::erase(shown, victim);
    }
    widths.assign(N, 0);
    for (size_t i : shown) widths[i] = def(i).width;
    size_t used = total();
    for (size_t i : shown) {
        if (def(i).show.flex_max > def(i).width && used < width) {
            size_t extra = std::min(width - used, def(i).show.flex_max - def(i).width);
            widths[i] += extra;
            used += extra;
        }
    }
    return shown;
}

// `t`: a row's key and its parent's. A process's parent is its ppid; a cgroup's the
// nearest ancestor path in the table (a cgroup between them may have no row).
std::string tree_key(const ProcessSample& p) {
    return std::to_string(p.pid);
}
std::string tree_key(const CgroupSample& c) {
    return c.path;
}
std::string tree_parent(const ProcessSample& p, const std::set<std::string>& keys) {
    std::string k = std::to_string(p.ppid);
    return p.ppid > 0 && p.ppid != p.pid && keys.contains(k) ? k : "";
}
std::string tree_parent(const CgroupSample& c, const std::set<std::string>& keys) {
    std::string path = c.path;
    while (path.size() > 1) {
        size_t slash = path.find_last_of('/');
        path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
        if (keys.contains(path)) return path;
    }
    return "";
}
// The name a tree shows indented: a cgroup by its path below its parent's row (more than
// one component where the cgroups between have no row).
std::string tree_name(const ProcessSample& p, const std::string&) {
    return p.comm;
}
std::string tree_name(const CgroupSample& c, const std::string& parent) {
    if (parent.empty() || !c.path.starts_with(parent)) return c.path;
    return c.path.substr(parent == "/" ? 1 : parent.size() + 1);
}
const char* tree_column(const ProcessSample&) {
    return "comm";
}
const char* tree_column(const CgroupSample&) {
    return "cgroup";
}

// A table line: a row of the view, or one of `H`'s threads (thread set), at a depth of
// the tree (0: a root, or no tree).
template <class Row>
struct TableEntry {
    TableEntry(const Row* r, size_t d = 0, const ThreadSample* t = nullptr, std::string p = {})
        : row(r), depth(d), thread(t), parent(std::move(p)) {}
    const Row* row;
    size_t depth;
    const ThreadSample* thread;
    std::string parent;  // the tree's parent key ("" for a root)
};

// The sorted rows as a forest: each row under its parent, siblings in the sorted order;
// rows whose parent has no row are roots.
template <class Row>
std::vector<TableEntry<Row>> as_tree(const std::vector<const Row*>& rows) {
    std::set<std::string> keys;
    for (const Row* r : rows) keys.insert(tree_key(*r));
    std::map<std::string, std::vector<const Row*>> children;
    std::vector<const Row*> roots;
    for (const Row* r : rows) {
        std::string parent = tree_parent(*r, keys);
        if (parent.empty())
            roots.push_back(r);
        else
            children[parent].push_back(r);
    }
    std::vector<TableEntry<Row>> out;
    std::set<std::string> placed;  // a loop in the parent links cannot repeat a row
    std::vector<TableEntry<Row>> stack;
    for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it});
    while (!stack.empty()) {
        TableEntry<Row> e = std::move(stack.back());
        stack.pop_back();
        const std::string key = tree_key(*e.row);
        if (!placed.insert(key).second) continue;
        auto kids = children.find(key);
        if (kids != children.end())
            for (auto it = kids->second.rbegin(); it != kids->second.rend(); ++it)
                stack.push_back({*it, e.depth + 1, nullptr, key});
        out.push_back(std::move(e));
    }
    for (const Row* r : rows)  // rows in a parent loop (none on a sane system)
        if (!placed.contains(tree_key(*r))) out.push_back({r});
    return out;
}

std::string tree_indent(size_t depth) {
    return depth == 0 ? "" : std::string(2 * (depth - 1), ' ') + "`- ";
}

// The columns a thread row fills; the others are the process's and show "-".
bool thread_column(std::string_view id) {
    return id == "pid" || id == "comm" || id == "cpu" || id == "cgroup";
}

template <class Row>
void build_table(TopFrame& f, std::span<const Row> all, const Snapshot& snap,
                 const std::vector<Verdict>& verdicts, const TopUiState& state, size_t width) {
    const Subjects subjects = verdict_subjects(verdicts);
    const double secs = static_cast<double>(snap.interval_ns) / 1e9;
    const auto cols = top_columns<Row>();
    const size_t N = cols.size();
    const std::set<std::string> families = attached_families(snap);
    const TopSort& sort = state.current_sort();

    size_t sort_col = 0;
    for (size_t i = 0; i < N; ++i)
        if (cols[i].def->id == sort.column) sort_col = i;

    std::vector<const Row*> rows;
    const std::string& filter = state.active_filter();
    for (const Row& r : all)
        if (matches(r, filter) && !hidden(r, snap, state, secs)) rows.push_back(&r);

    const auto& sd = cols[sort_col];
    const auto& key = cols[0];  // ties: by the first column, ascending
    auto key_less = [&](const Row* a, const Row* b) {
        if (key.numeric) return column_number(key, *a, secs) < column_number(key, *b, secs);
        return column_text(key, *a, secs) < column_text(key, *b, secs);
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const Row* a, const Row* b) {
        if (sd.numeric) {
            double x = column_number(sd, *a, secs), y = column_number(sd, *b, secs);
            if (x != y) return sort.descending ? x > y : x < y;
        } else {
            std::string x = column_text(sd, *a, secs), y = column_text(sd, *b, secs);
            if (x != y) return sort.descending ? x > y : x < y;
        }
        return key_less(a, b);
    });

    std::vector<TableEntry<Row>> entries;
    if constexpr (std::is_same_v<Row, ProcessSample> || std::is_same_v<Row, CgroupSample>) {
        if (state.tree) entries = as_tree(rows);
    }
    if (entries.empty())
        for (const Row* r : rows) entries.push_back({r, 0});
    // H: the threads under their process, as ProcessSamples so the columns format them.
    std::vector<ProcessSample> thread_rows;
    if constexpr (std::is_same_v<Row, ProcessSample>) {
        auto at = std::find_if(entries.begin(), entries.end(), [&](const TableEntry<Row>& e) {
            return e.row->pid == state.threads_pid;
        });
        if (state.threads_pid != 0 && at != entries.end()) {
            thread_rows.reserve(state.threads.size());
            std::vector<TableEntry<Row>> threads;
            for (const auto& t : state.threads) {
                ProcessSample p;
                p.pid = t.tid;
                p.ppid = at->row->pid;
                p.comm = t.comm;
                p.cgroup = at->row->cgroup;
                p.cpu_pct = t.cpu_pct;
                thread_rows.push_back(std::move(p));
                threads.push_back({&thread_rows.back(), at->depth + 1, &t, tree_key(*at->row)});
            }
            entries.insert(at + 1, threads.begin(), threads.end());
        }
    }

    std::vector<size_t> widths;
    std::vector<size_t> shown =
        fit_columns<Row>(cols, sort.column, verdict_columns(verdicts), width, widths);
    size_t offset = 0;
    std::string header;
    for (size_t i : shown) {
        if (!header.empty()) {
            header += ' ';
            ++offset;
        }
        const auto& d = *cols[i].def;
        f.columns.push_back(
            TopColumn{d.id, d.title, offset, widths[i], d.left_align, d.id == sort.column});
        header += fit_cell(d.title, widths[i], d.left_align, false);
        offset += widths[i];
    }
    f.column_line = fit_line(header, width);

    f.total_rows = entries.size();
    size_t page = std::max<size_t>(1, f.page_rows);
    size_t selected = entries.empty() ? 0 : std::min(state.selected, entries.size() - 1);
    size_t first = std::min(state.first_row, selected);
    if (selected >= first + page) first = selected + 1 - page;
    f.first_row = first;
    if (!entries.empty()) {
        f.selected = row_ref(*entries[selected].row);
        f.selected.thread = entries[selected].thread != nullptr;
    }
    for (size_t r = first; r < entries.size() && r < first + f.page_rows; ++r) {
        const TableEntry<Row>& e = entries[r];
        const Row& row = *e.row;
        TopRow out;
        out.severity = e.thread ? Severity::ok : row_severity(row, subjects);
        out.exited = !e.thread && row_exited(row);
        out.selected = r == selected;
        std::string line;
        for (size_t i : shown) {
            const auto& d = *cols[i].def;
            bool available = !d.family || families.contains(d.family);
            std::string cell = available ? column_text(cols[i], row, secs) : "-";
            bool keep_tail = d.show.keep_tail;
            if (e.thread &&
                (!thread_column(d.id) || (d.id == std::string_view("cpu") && !e.thread->measured)))
                cell = "-";
            if constexpr (std::is_same_v<Row, ProcessSample> || std::is_same_v<Row, CgroupSample>) {
                if (d.id == std::string_view(tree_column(row)) && e.depth > 0) {
                    cell = tree_indent(e.depth) + tree_name(row, e.parent);
                    keep_tail = false;  // the indent is the point: cut the end instead
                }
            }
            if (!line.empty()) line += ' ';
            line += fit_cell(cell, widths[i], d.left_align, keep_tail);
            out.cells.push_back(std::move(cell));
        }
        out.text = fit_line(std::move(line), width);
        f.rows.push_back(std::move(out));
    }
}

std::string printf_string(const char* fmt, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), fmt, args...);
    return buf;
}

std::string psi_part(const char* name, const Psi& p) {
    if (!p.available) return std::string(name) + " -";
    return printf_string("%s %.1f%%", name, p.some.interval_pct);
}

std::string psi_avg10(const Psi& p) {
    return p.available ? format_fixed(p.some.avg10, 1) : "-";
}

std::string probes_part(const std::vector<ProbeStatus>& probes) {
    // family -> attached, total; in the order first seen
    std::vector<std::pair<std::string, std::pair<int, int>>> fam;
    for (const auto& p : probes) {
        auto it =
            std::find_if(fam.begin(), fam.end(), [&](auto& e) { return e.first == p.family; });
        if (it == fam.end()) {
            fam.push_back({p.family, {0, 0}});
            it = fam.end() - 1;
        }
        if (p.skipped) continue;  // left out on purpose: neither missing nor attached
        it->second.second++;
        if (p.attached) it->second.first++;
    }
    std::string out = "probes:";
    for (const auto& [name, n] : fam)
        out += printf_string("%s %s %d/%d", out.size() > 7 ? "," : "", name.c_str(), n.first,
                             n.second);
    if (fam.empty()) out += " none reported";
    return out;
}

// The daemon's firing alerts on one line, critical first: an operator sees at once that
// the daemon is paging about this host.
TopLine alerts_line(FiringAlerts alerts) {
    std::stable_sort(alerts.begin(), alerts.end(),
                     [](const auto& a, const auto& b) { return a.severity > b.severity; });
    TopLine line{printf_string("ALERTS %zu firing", alerts.size()), alerts.front().severity, true};
    for (const auto& a : alerts)
        line.text += printf_string("  %s %s: %s", severity_name(a.severity), a.alert.c_str(),
                                   a.summary.c_str());
    return line;
}

std::string clock_text(const Snapshot& s) {
    std::time_t t = static_cast<std::time_t>(s.end_unix_ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char when[16];
    std::strftime(when, sizeof(when), "%H:%M:%S", &tm);
    return when;
}

double interval_s(const Snapshot& s) {
    return static_cast<double>(s.interval_ns) / 1e9;
}

double available_pct(const SystemSample& y) {
    return y.mem_total_bytes ? 100.0 * static_cast<double>(y.mem_available_bytes) /
                                   static_cast<double>(y.mem_total_bytes)
                             : 0;
}

uint64_t swap_used(const SystemSample& y) {
    return y.swap_total_bytes > y.swap_free_bytes ? y.swap_total_bytes - y.swap_free_bytes : 0;
}

// Lost data is always shown, so an undercounting table is never mistaken for a quiet one.
TopLine lost_line(const Snapshot& s) {
    TopLine lost;
    if (s.drops.total == 0) {
        lost.text = "LOST 0 events  " + probes_part(s.probes);
        return lost;
    }
    lost.text = printf_string("LOST %llu events (", static_cast<unsigned long long>(s.drops.total));
    bool first = true;
    for (const auto& [kind, n] : s.drops.by_kind) {
        if (n == 0) continue;
        lost.text += printf_string("%s%s %llu", first ? "" : ", ", kind.c_str(),
                                   static_cast<unsigned long long>(n));
        first = false;
    }
    lost.text += "): numbers undercount  " + probes_part(s.probes);
    lost.severity = Severity::warning;
    lost.emphasis = true;
    return lost;
}

// "[10s]": the window a number covers, so the CPU line's p99 of one interval and a
// verdict's p99 over several are not read as the same number.
std::string window_tag(double seconds) {
    if (seconds <= 0) return "";
    return "[" + format_fixed(seconds, seconds < 10 && std::fmod(seconds, 1.0) != 0 ? 1 : 0) + "s]";
}

std::string tagged(const Verdict& v) {
    std::string tag = window_tag(v.window_s);
    return tag.empty() ? v.evidence : tag + " " + v.evidence;
}

std::vector<const Verdict*> worst_first(const std::vector<Verdict>& verdicts, std::string& ok) {
    std::vector<const Verdict*> bad;
    for (const auto& v : verdicts) {
        if (v.severity == Severity::ok)
            ok += (ok.empty() ? "" : ", ") + v.resource;
        else
            bad.push_back(&v);
    }
    std::stable_sort(bad.begin(), bad.end(),
                     [](const Verdict* a, const Verdict* b) { return a->severity > b->severity; });
    return bad;
}

std::vector<TopLine> header_lines(const Snapshot* s, const std::vector<Verdict>& verdicts) {
    std::vector<TopLine> out;
    if (!s) {
        out.push_back({"perfbpf top  collecting the first interval..."});
        return out;
    }
    const SystemSample& y = s->system;
    const double secs = interval_s(*s);
    out.push_back(
        {printf_string("perfbpf top  %s  interval %.2fs  load %.2f %.2f %.2f  tasks %d, %d running",
                       clock_text(*s).c_str(), secs, y.loadavg[0], y.loadavg[1], y.loadavg[2],
                       y.total_tasks, y.running)});
    out.push_back({printf_string(
        "CPU  %3.0f%% busy  us %.1f  sy %.1f  wa %.1f  irq %.1f  st %.1f  runq p99 %s %s  %d CPUs",
        y.cpu_busy_pct, y.cpu_user_pct, y.cpu_system_pct, y.cpu_iowait_pct, y.cpu_irq_pct,
        y.cpu_steal_pct, format_us(y.runq_lat_p99_us).c_str(), window_tag(secs).c_str(), y.ncpus)});
    out.push_back({printf_string(
        "MEM  %s available of %s (%.0f%%)  swap used %s  major faults %s/s  swap-out %s pages/s",
        format_bytes(static_cast<double>(y.mem_available_bytes)).c_str(),
        format_bytes(static_cast<double>(y.mem_total_bytes)).c_str(), available_pct(y),
        format_bytes(static_cast<double>(swap_used(y))).c_str(),
        format_count(secs > 0 ? static_cast<double>(y.major_faults) / secs : 0).c_str(),
        format_count(secs > 0 ? static_cast<double>(y.pages_swapped_out) / secs : 0).c_str())});
    // PSI "some": the share of the interval in which at least one task stalled.
    out.push_back({"PSI  " + psi_part("cpu", y.psi_cpu) + "  " + psi_part("memory", y.psi_memory) +
                   "  " + psi_part("io", y.psi_io) + "  (avg10 " + psi_avg10(y.psi_cpu) + " " +
                   psi_avg10(y.psi_memory) + " " + psi_avg10(y.psi_io) + ")"});
    out.push_back(lost_line(*s));
    std::string ok;
    for (const Verdict* v : worst_first(verdicts, ok))
        out.push_back({printf_string("%-8s %-8s %s", v->resource.c_str(),
                                     severity_name(v->severity), tagged(*v).c_str()),
                       v->severity, true});
    if (!ok.empty()) out.push_back({"ok: " + ok});
    return out;
}

// ---------------------------------------------------------------------------------------
// The detail pane: every catalogue field of the row with its unit, then its histograms.

std::string detail_field_line(std::string_view name, const std::string& value,
                              std::string_view unit, std::string_view help) {
    return printf_string("  %-24.*s %14s %-6.*s %.*s", static_cast<int>(name.size()), name.data(),
                         value.c_str(), static_cast<int>(unit.size()), unit.data(),
                         static_cast<int>(help.size()), help.data());
}

template <class S>
void add_fields(const S& row, const std::string& prefix, std::vector<std::string>& lines,
                std::vector<std::pair<std::string, const Log2Histogram*>>& hists) {
    for (const auto& f : fields<S>()) {
        const std::string name = prefix + std::string(f.name);
        visit_field(f, row, [&](const auto& v) {
            using T = std::remove_cvref_t<decltype(v)>;
            std::string text;
            if constexpr (std::is_same_v<T, Log2Histogram>) {
                hists.emplace_back(name, &v);
                return;
            } else if constexpr (Catalogued<T>) {
                add_fields(v, name + ".", lines, hists);
                return;
            } else if constexpr (std::is_same_v<T, std::optional<PsiLine>>) {
                if (v) add_fields(*v, name + ".", lines, hists);
                return;
            } else if constexpr (std::is_same_v<T, bool>) {
                text = v ? "yes" : "no";
            } else if constexpr (std::is_same_v<T, std::string>) {
                text = v.empty() ? "-" : v;
            } else if constexpr (std::is_same_v<T, std::optional<uint64_t>>) {
                text = v ? unit_text(static_cast<double>(*v), f.unit) : "-";
            } else if constexpr (std::is_same_v<T, CountMap>) {
                for (const auto& [k, n] : v)
                    text += (text.empty() ? "" : ", ") + k + " " + std::to_string(n);
                if (text.empty()) text = "-";
            } else if constexpr (std::is_same_v<T, double[3]>) {
                text = format_fixed(v[0], 2) + " " + format_fixed(v[1], 2) + " " +
                       format_fixed(v[2], 2);
            } else if constexpr (std::is_arithmetic_v<T>) {
                text = f.kind == FieldKind::identity ? std::to_string(v)
                                                     : unit_text(static_cast<double>(v), f.unit);
            }
            lines.push_back(detail_field_line(name, text, f.unit, f.help));
        });
    }
}

// A histogram as bars over its occupied buckets, with the bucket bounds.
void add_histogram(const std::string& name, const Log2Histogram& h, size_t width,
                   std::vector<std::string>& lines) {
    if (h.empty()) {
        lines.push_back("  " + name + ": nothing measured");
        return;
    }
    // An estimate with the bucket it lies in: the bucket is all the histogram knows.
    auto estimate = [&](double q) {
        const double us = h.percentile_us(q);
        const size_t slot = Log2Histogram::slot_for_us(static_cast<uint64_t>(us));
        return format_us(us) + " (in " + format_us(Log2Histogram::slot_low_us(slot)) + " .. " +
               format_us(Log2Histogram::slot_high_us(slot)) + ")";
    };
    lines.push_back(printf_string("  %s: %llu samples, p50 %s, p99 %s", name.c_str(),
                                  static_cast<unsigned long long>(h.count()), estimate(0.5).c_str(),
                                  estimate(0.99).c_str()));
    size_t lo = Log2Histogram::kSlots, hi = 0;
    uint64_t most = 0;
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        if (!h.slot(i)) continue;
        lo = std::min(lo, i);
        hi = i;
        most = std::max(most, h.slot(i));
    }
    const size_t bar_room = width > 40 ? std::min<size_t>(width - 40, 40) : 1;
    for (size_t i = lo; i <= hi; ++i) {
        size_t bar = static_cast<size_t>(
            std::ceil(static_cast<double>(h.slot(i)) * bar_room / static_cast<double>(most)));
        lines.push_back(printf_string(
            "    %9s .. %-9s %9llu |%s", format_us(Log2Histogram::slot_low_us(i)).c_str(),
            format_us(Log2Histogram::slot_high_us(i)).c_str(),
            static_cast<unsigned long long>(h.slot(i)), std::string(bar, '#').c_str()));
    }
}

template <class Row>
std::vector<std::string> detail_of(const Row& row, const std::string& title,
                                   const std::vector<std::string>& before, size_t width) {
    std::vector<std::string> lines{title};
    lines.insert(lines.end(), before.begin(), before.end());
    std::vector<std::pair<std::string, const Log2Histogram*>> hists;
    add_fields(row, "", lines, hists);
    for (const auto& [name, h] : hists) add_histogram(name, *h, width, lines);
    return lines;
}

std::string pane_title(std::string what) {
    return what + "   (Esc closes, Up Down PgUp PgDn scroll)";
}

std::vector<std::string> detail_lines(const Snapshot& snap, const TopUiState& st, size_t width) {
    const std::string& id = st.detail;
    switch (st.view) {
        case TopView::processes:
            for (const auto& p : snap.processes)
                if (std::to_string(p.pid) == id)
                    return detail_of(p, pane_title("process " + id + " " + p.comm),
                                     {"  command line: " + (st.detail_cmdline.empty()
                                                                ? std::string("- (not readable)")
                                                                : st.detail_cmdline),
                                      "  cgroup: " + p.cgroup},
                                     width);
            break;
        case TopView::cgroups:
            for (const auto& c : snap.cgroups)
                if (c.path == id) return detail_of(c, pane_title("cgroup " + id), {}, width);
            break;
        case TopView::devices:
            for (const auto& d : snap.devices)
                if (d.name == id) return detail_of(d, pane_title("device " + id), {}, width);
            break;
        case TopView::cpus:
            for (const auto& c : snap.cpus)
                if (std::to_string(c.cpu) == id)
                    return detail_of(c, pane_title("cpu " + id), {}, width);
            break;
    }
    return {pane_title(std::string(top_view_name(st.view)) + " " + id),
            "  not in this interval (it exited or went idle)"};
}

// ---------------------------------------------------------------------------------------
// The header short of rows (80x24): the same facts in at most `budget` lines.

constexpr std::string_view kCut = "...";

// `text` cut to `width` with a marker, so a shortened line never reads as complete.
std::string cut_marked(const std::string& text, size_t width) {
    if (text.size() <= width) return text;
    if (width <= kCut.size()) return text.substr(0, width);
    return text.substr(0, width - kCut.size()) + std::string(kCut);
}

// Word-wraps `text` onto at most `max_lines` lines of `width`; the last carries the marker
// when text is left over.
std::vector<std::string> wrap_marked(const std::string& text, size_t width, size_t max_lines) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < text.size() && out.size() + 1 < max_lines && text.size() - at > width) {
        size_t end = text.rfind(' ', at + width);
        if (end == std::string::npos || end <= at) end = at + width;
        out.push_back(text.substr(at, end - at));
        at = end;
        while (at < text.size() && text[at] == ' ') ++at;
    }
    if (at < text.size() && max_lines > 0) out.push_back(cut_marked(text.substr(at), width));
    return out;
}

// A verdict that does not fit names its subject first: the process or device to look at
// survives the cut.
std::string short_verdict(const Verdict& v, size_t room) {
    std::string head = v.resource + " " + severity_name(v.severity) + ": ";
    std::string text = head + tagged(v);
    if (text.size() > room && !v.subject.empty()) text = head + "(" + v.subject + ") " + tagged(v);
    return text;
}

std::vector<TopLine> verdict_lines(const std::vector<Verdict>& verdicts, size_t width,
                                   size_t lines) {
    std::vector<TopLine> out;
    if (lines == 0) return out;
    std::string ok;
    std::vector<const Verdict*> bad = worst_first(verdicts, ok);
    if (bad.empty()) {
        if (!ok.empty()) out.push_back({"ok: " + ok});
        return out;
    }
    // One line each while they fit; the rest merged onto the last line by name.
    size_t own = bad.size() <= lines ? bad.size() : lines - 1;
    size_t spare = lines - std::min(lines, bad.size());  // extra lines for the worst one
    for (size_t i = 0; i < own; ++i) {
        size_t n = i == 0 ? 1 + spare : 1;
        for (auto& l : wrap_marked(short_verdict(*bad[i], n * width), width, n))
            out.push_back({std::move(l), bad[i]->severity, true});
    }
    if (own < bad.size()) {
        std::string rest = "also";
        for (size_t i = own; i < bad.size(); ++i)
            rest += std::string(i == own ? " " : "; ") + bad[i]->resource + " " +
                    severity_name(bad[i]->severity) +
                    (bad[i]->subject.empty() ? "" : " (" + bad[i]->subject + ")");
        out.push_back({cut_marked(rest, width), bad[own]->severity, true});
    }
    if (!ok.empty()) {
        std::string tail = "  ok: " + ok;
        if (out.size() < lines)
            out.push_back({"ok: " + ok});
        else if (out.back().text.size() + tail.size() <= width)
            out.back().text += tail;
    }
    return out;
}

std::vector<TopLine> compact_header_lines(const Snapshot& s, const std::vector<Verdict>& verdicts,
                                          size_t width, size_t budget) {
    const SystemSample& y = s.system;
    std::vector<TopLine> out;
    out.push_back({printf_string(
        "perfbpf top  %s  %.2fs  load %.2f %.2f %.2f  tasks %d, %d running", clock_text(s).c_str(),
        interval_s(s), y.loadavg[0], y.loadavg[1], y.loadavg[2], y.total_tasks, y.running)});
    std::string cpu = printf_string("CPU %.0f%% us %.0f sy %.0f wa %.0f", y.cpu_busy_pct,
                                    y.cpu_user_pct, y.cpu_system_pct, y.cpu_iowait_pct);
    if (y.cpu_steal_pct >= 0.5) cpu += printf_string(" st %.0f", y.cpu_steal_pct);
    cpu += " runq p99 " + format_us(y.runq_lat_p99_us) + " " + window_tag(interval_s(s));
    out.push_back({cut_marked(
        cpu + printf_string("  MEM avail %s (%.0f%%) swap %s",
                            format_bytes(static_cast<double>(y.mem_available_bytes)).c_str(),
                            available_pct(y),
                            format_bytes(static_cast<double>(swap_used(y))).c_str()),
        width)});
    TopLine lost = lost_line(s);
    lost.text =
        cut_marked("PSI some " + psi_part("cpu", y.psi_cpu) + " " + psi_part("mem", y.psi_memory) +
                       " " + psi_part("io", y.psi_io) + "  " + lost.text,
                   width);
    out.push_back(std::move(lost));
    size_t left = budget > out.size() ? budget - out.size() : 0;
    for (auto& l : verdict_lines(verdicts, width, std::max<size_t>(1, left)))
        out.push_back(std::move(l));
    return out;
}

TopLine status_line(const TopUiState& st, const TopFrame& f, size_t width, size_t& cursor) {
    if (st.mode == TopMode::filter) {
        std::string prompt = "Filter: " + st.filter_edit;
        cursor = prompt.size();
        return {prompt + "   (Enter apply, Esc cancel, Ctrl-U clear)", Severity::ok, true};
    }
    if (st.mode == TopMode::confirm_signal)
        return {
            printf_string("send SIGTERM to %d %s? [y/N]", st.pending.pid, st.pending.comm.c_str()),
            Severity::warning, true};
    if (st.mode == TopMode::renice) {
        std::string prompt =
            printf_string("renice %d %s by: ", st.pending.pid, st.pending.comm.c_str()) +
            st.prompt_edit;
        cursor = prompt.size();
        return {prompt + "   (+N lowers its priority, -N raises; Enter apply, Esc cancel)",
                Severity::ok, true};
    }
    if (st.mode == TopMode::detail) {
        std::string out = printf_string("detail lines %zu-%zu of %zu", f.first_row + 1,
                                        f.first_row + f.detail.size(), f.total_rows);
        if (!st.message.empty()) return {out + "  | " + st.message, Severity::warning, false};
        return {out + "  | Esc close  q quit", Severity::ok, false};
    }
    std::string out = printf_string("%s: no rows", top_view_name(st.view));
    if (f.total_rows)
        out = printf_string("%s %zu-%zu of %zu", top_view_name(st.view), f.first_row + 1,
                            f.first_row + f.rows.size(), f.total_rows);
    std::string sorted_title = st.current_sort().column;
    for (const auto& c : f.columns)
        if (c.sorted) sorted_title = c.title;
    out += "  sort " + sorted_title +
           (st.current_sort().descending ? " (high first)" : " (low first)");
    if (!st.filter().empty()) out += "  filter \"" + st.filter() + "\"";
    if (st.paused) out += "  PAUSED (p resumes)";
    if (st.hide_short_lived && st.view == TopView::processes) out += "  short-lived hidden (e)";
    if (st.tree && (st.view == TopView::processes || st.view == TopView::cgroups))
        out += "  tree (t)";
    if (st.threads_pid != 0 && st.view == TopView::processes)
        out += printf_string("  threads of %d (H)", st.threads_pid);
    if (st.ended) out += "  END of data";
    if (!st.message.empty()) return {out + "  | " + st.message, Severity::warning, false};
    std::string hints = st.timeline.empty() ? "  | Tab view  / filter  p pause  ? help  q quit"
                                            : "  | Left Right time  Space play  ? help  q quit";
    if (out.size() + hints.size() > width) hints = "  | ? help  q quit";
    return {out + hints, Severity::ok, false};
}

}  // namespace

std::vector<std::string> top_help_lines(bool seekable) {
    std::vector<std::string> lines = {
        "perfbpf top: keys",
        "",
        "  q  ? h         quit; this help (any key closes it)",
        "  Tab, Shift-Tab next / previous view: processes cgroups devices cpus",
        "  c  d  1        cgroups, devices, per-CPU view (again: processes)",
        "  P  M  N        sort by CPU%, RSS, PID (processes in cgroups)",
        "  Q  O  G        sort by run-queue p99, off-CPU time, RSS growth",
        "  I  L  U        sort by read B/s (again: write), I/O latency p99, util",
        "  T  X           sort by TCP sent B/s (again: received), retransmits",
        "  <  >  R        move the sort column left / right; reverse the order",
        "  /              filter this view: name or cgroup substring, or a pid",
        "                 (Enter applies, Esc cancels; Esc later clears it)",
        "  Enter          the selected row's every field and histograms (Esc closes)",
        "  e  t           hide short-lived processes; tree by parent, by cgroup path",
        "  H  k  r        threads; SIGTERM (asks y/N); renice (asks +N or -N)",
    };
    if (seekable)
        lines.insert(lines.end(),
                     {
                         "  Left Right     one interval back / forward (pauses)",
                         "  PgUp PgDn      a minute back / forward; Home End: first / last",
                         "  Space p        play at the recorded pace / pause; Up Down: select",
                     });
    else
        lines.insert(lines.end(),
                     {
                         "  p              pause the display; collection goes on, nothing is lost",
                         "  Up Down PgUp PgDn Home End   move the selection",
                     });
    lines.insert(lines.end(),
                 {
                     "RUNQ99: run-queue latency p99. OFFCPU: time off CPU in the interval.",
                     "IOLAT99: block I/O latency p99. RETR: TCP retransmits in the interval.",
                     "RSS+: RSS change in the interval. \"-\": that probe family is not loaded.",
                     "[10s]: the window a header number covers; the table is the last interval.",
                 });
    return lines;
}

// Screens shorter than this (80x24 and such) get the header of at most kShortHeader lines.
constexpr size_t kTallScreen = 40;
constexpr size_t kShortHeader = 5;

TopFrame build_top_frame(const Snapshot* snapshot, const std::vector<Verdict>& verdicts,
                         const TopUiState& state, size_t width, size_t height,
                         const FiringAlerts& alerts) {
    TopFrame f;
    // The column titles and the status line take two lines; keep at least one table row.
    // Below kTallScreen rows the header keeps to kShortHeader so the table has the rest.
    size_t header_max = height > 3 ? height - 3 : 0;
    if (height < kTallScreen) header_max = std::min(header_max, kShortHeader);
    size_t extra = (snapshot && !alerts.empty() ? 1 : 0) + (state.timeline.empty() ? 0 : 1);
    f.header = header_lines(snapshot, verdicts);
    if (snapshot && f.header.size() + extra > header_max)
        f.header = compact_header_lines(*snapshot, verdicts, width,
                                        header_max > extra ? header_max - extra : 0);
    if (snapshot && !alerts.empty()) {
        TopLine a = alerts_line(alerts);
        a.text = cut_marked(a.text, width);
        f.header.insert(f.header.begin() + 1, std::move(a));
    }
    if (!state.timeline.empty())
        f.header.insert(f.header.begin(), TopLine{state.timeline, Severity::ok, true});
    for (auto& l : f.header) l.text = fit_line(std::move(l.text), width);
    // A replay's timeline and firing alerts may push past kShortHeader by a line or two
    // rather than lose the worst verdict; only the screen itself bounds them.
    if (f.header.size() > (height > 3 ? height - 3 : 0))
        f.header.resize(height > 3 ? height - 3 : 0);
    size_t used = f.header.size() + 2;
    f.page_rows = height > used ? height - used : 0;

    if (snapshot && state.mode == TopMode::detail) {
        // The pane takes the table's lines, the column titles' too.
        std::vector<std::string> all = detail_lines(*snapshot, state, width);
        f.page_rows += 1;
        f.total_rows = all.size();
        size_t last = all.size() > f.page_rows ? all.size() - f.page_rows : 0;
        f.first_row = std::min(state.detail_first, last);
        for (size_t i = f.first_row; i < all.size() && f.detail.size() < f.page_rows; ++i)
            f.detail.push_back({fit_line(std::move(all[i]), width), Severity::ok, i == 0});
    } else if (snapshot) {
        switch (state.view) {
            case TopView::processes:
                build_table<ProcessSample>(f, snapshot->processes, *snapshot, verdicts, state,
                                           width);
                break;
            case TopView::cgroups:
                build_table<CgroupSample>(f, snapshot->cgroups, *snapshot, verdicts, state, width);
                break;
            case TopView::devices:
                build_table<DeviceSample>(f, snapshot->devices, *snapshot, verdicts, state, width);
                break;
            case TopView::cpus:
                build_table<CpuSample>(f, snapshot->cpus, *snapshot, verdicts, state, width);
                break;
        }
    }
    f.status = status_line(state, f, width, f.cursor_column);
    f.status.text = fit_line(std::move(f.status.text), width);
    f.cursor_column = std::min(f.cursor_column, width > 0 ? width - 1 : 0);
    if (state.mode == TopMode::help) f.help = top_help_lines(!state.timeline.empty());
    return f;
}

}  // namespace perfbpf

#include "sinks/leaks_sink.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "detect/leak_trend.h"
#include "util/format.h"

namespace perfbpf {

using nlohmann::json;

namespace {

json frame_json(const LeakFrame& f) {
    return {{"function", f.function}, {"file", f.file},     {"line", f.line},
            {"module", f.module},     {"offset", f.offset}, {"inlined", f.inlined},
            {"kernel", f.kernel}};
}

json trend_json(const TrendVerdict& t) {
    return {{"class", leak_class_name(t.cls)},
            {"slope_bytes_per_s", t.slope_bytes_per_s},
            {"confidence", t.confidence}};
}

std::string base(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Order of the report: after a reachability scan, stacks holding definitely lost bytes
// first (most first); then leaks, growing, plateau, churn; bytes within a class.
std::vector<const LeakStack*> ordered(const LeakReport& r) {
    std::vector<const LeakStack*> out;
    for (const auto& s : r.stacks) out.push_back(&s);
    std::stable_sort(out.begin(), out.end(), [&](const LeakStack* a, const LeakStack* b) {
        if (r.reach.scanned && a->lost_bytes != b->lost_bytes) return a->lost_bytes > b->lost_bytes;
        if (a->trend.cls != b->trend.cls) return a->trend.cls < b->trend.cls;
        return a->outstanding_bytes > b->outstanding_bytes;
    });
    return out;
}

std::string reach_line(const char* label, double bytes, uint64_t blocks) {
    return std::string(label) + " " + format_bytes(bytes) + " in " + std::to_string(blocks) +
           " block" + (blocks == 1 ? "" : "s");
}

std::string age_text(uint64_t ns) {
    return format_us(static_cast<double>(ns) / 1e3);
}

}  // namespace

namespace {

// One stack's object; its frames left as an empty array when `with_frames` is false.
json stack_json(const LeakReport& r, const LeakStack& s, bool with_frames) {
    json frames = json::array();
    if (with_frames)
        for (const auto& f : s.frames) frames.push_back(frame_json(f));
    json j{{"class", leak_class_name(s.trend.cls)},
           {"outstanding_bytes", std::llround(s.outstanding_bytes)},
           {"outstanding_allocs", std::llround(s.outstanding_allocs)},
           {"total_allocs", std::llround(s.total_allocs)},
           {"total_frees", std::llround(s.total_frees)},
           {"allocated_bytes", std::llround(s.allocated_bytes)},
           {"untracked_allocs", std::llround(s.untracked_allocs)},
           {"slope_bytes_per_s", s.trend.slope_bytes_per_s},
           {"confidence", s.trend.confidence},
           {"oldest_age_ns", s.oldest_age_ns},
           {"truncated", s.truncated},
           {"kernel", s.kernel},
           {"frames", std::move(frames)}};
    if (r.reach.scanned) {
        j["lost_bytes"] = std::llround(s.lost_bytes);
        j["indirect_bytes"] = std::llround(s.indirect_bytes);
        j["possible_bytes"] = std::llround(s.possible_bytes);
        j["reachable_bytes"] = std::llround(s.reachable_bytes);
    }
    if (r.estimated) {
        j["outstanding_bytes_lo"] = std::llround(s.outstanding_bytes_lo);
        j["outstanding_bytes_hi"] = std::llround(s.outstanding_bytes_hi);
        j["samples"] = s.samples;
    }
    json series = json::array();
    for (const auto& p : s.series) series.push_back({p.t_s, std::llround(p.bytes)});
    j["series"] = std::move(series);
    return j;
}

// The report's object; its stacks left as an empty array when `with_stacks` is false.
json report_json(const LeakReport& r, bool with_stacks) {
    json stacks = json::array();
    if (with_stacks)
        for (const auto& s : r.stacks) stacks.push_back(stack_json(r, s, true));
    json procs = json::array();
    for (const auto& p : r.processes) {
        json rss = json::array();
        for (const auto& pt : p.rss) rss.push_back({pt.t_s, std::llround(pt.bytes)});
        procs.push_back({{"pid", p.pid},
                         {"comm", p.comm},
                         {"rss", rss},
                         {"trend", trend_json(p.trend)},
                         {"heap_growth_bytes", std::llround(p.heap_growth_bytes)},
                         {"faulted_bytes", std::llround(p.faulted_bytes)}});
    }
    json out{{"mode", r.mode},
             {"pid", r.pid},
             {"comm", r.comm},
             {"duration_ns", r.duration_ns},
             {"estimated", r.estimated},
             {"truncated_stacks", r.truncated_stacks},
             {"target_exited", r.target_exited},
             {"stacks", std::move(stacks)},
             {"unattributed",
              {{"allocs", std::llround(r.unattributed.allocs)},
               {"outstanding_bytes", std::llround(r.unattributed.outstanding_bytes)},
               {"outstanding_allocs", std::llround(r.unattributed.outstanding_allocs)}}},
             {"counters", r.counters},
             {"notes", r.notes}};
    if (r.reach.scanned)
        out["reachability"] = {{"lost_bytes", std::llround(r.reach.lost_bytes)},
                               {"lost_blocks", r.reach.lost_blocks},
                               {"indirect_bytes", std::llround(r.reach.indirect_bytes)},
                               {"indirect_blocks", r.reach.indirect_blocks},
                               {"possible_bytes", std::llround(r.reach.possible_bytes)},
                               {"possible_blocks", r.reach.possible_blocks},
                               {"reachable_bytes", std::llround(r.reach.reachable_bytes)},
                               {"reachable_blocks", r.reach.reachable_blocks},
                               {"root_bytes", r.reach.root_bytes},
                               {"threads", r.reach.threads}};
    if (r.estimated) {
        out["sample_mean_bytes"] = r.sample_mean_bytes;
        out["outstanding"] = {{"bytes", std::llround(r.sampled_total.bytes)},
                              {"bytes_lo", std::llround(r.sampled_total.bytes_lo)},
                              {"bytes_hi", std::llround(r.sampled_total.bytes_hi)},
                              {"samples", r.sampled_total.samples}};
    }
    if (r.target_exited) out["exit_code"] = r.exit_code;
    if (!r.processes.empty()) out["processes"] = procs;
    return out;
}

// `text` (dump(2) of a value) appended as if nested `indent` spaces deep: every line but
// the first shifted. JSON strings hold no raw newline, so each one is a line break.
void append_nested(std::string& out, std::string_view text, size_t indent) {
    size_t from = 0;
    for (size_t nl; (nl = text.find('\n', from)) != std::string_view::npos; from = nl + 1) {
        out.append(text, from, nl + 1 - from);
        out.append(indent, ' ');
    }
    out.append(text, from, std::string_view::npos);
}

// Where the empty array of `key` at `indent` in `text` (a dump(2)) starts: the offset of
// its "[]", or npos. The key is found with its line's indentation, which only that
// level's keys have.
size_t empty_array_at(std::string_view text, std::string_view key, size_t indent) {
    const std::string at = "\n" + std::string(indent, ' ') + "\"" + std::string(key) + "\": []";
    const size_t pos = text.find(at);
    return pos == std::string_view::npos ? pos : pos + at.size() - 2;
}

// Opens an array of items at `indent`, written `indent + 2` deep: what goes before each.
void open_item(std::string& out, size_t i, size_t indent) {
    out += i ? ",\n" : "\n";
    out.append(indent + 2, ' ');
}

void close_array(std::string& out, size_t indent) {
    out += '\n';
    out.append(indent, ' ');
    out += ']';
}

// Each distinct frame's text as dump(2) writes it in a stack of the report (8 spaces deep),
// made once: frames repeat across stacks (a Python run: 153k frames, 2.2k distinct). The
// text is frame_json's own dump, so the two forms cannot disagree on its fields.
class FrameTexts {
  public:
    const std::string& operator()(const LeakFrame& f) {
        key_.clear();
        for (const std::string* part : {&f.function, &f.file, &f.module}) {
            key_ += *part;
            key_ += '\0';
        }
        key_ += std::to_string(f.line) + ' ' + std::to_string(f.offset) + ' ' +
                (f.inlined ? 'i' : '-') + (f.kernel ? 'k' : '-');
        auto [it, fresh] = texts_.try_emplace(key_);
        if (fresh) append_nested(it->second, frame_json(f).dump(2), 8);
        return it->second;
    }

  private:
    std::string key_;
    std::unordered_map<std::string, std::string> texts_;
};

}  // namespace

json leaks_json(const LeakReport& r) {
    return report_json(r, true);
}

std::string leaks_json_text(const LeakReport& r) {
    // Written as leaks_json(r).dump(2) would write it without building that tree (the
    // frames are most of a report: 42 MB of a Python run's): stacks at 4 spaces (in
    // "stacks" at 2), their keys at 6, frames at 8.
    const std::string head = report_json(r, false).dump(2);
    const size_t stacks_at = empty_array_at(head, "stacks", 2);
    if (r.stacks.empty() || stacks_at == std::string::npos) return head;
    size_t frames = 0;
    for (const auto& s : r.stacks) frames += s.frames.size();
    std::string out;
    out.reserve(head.size() + r.stacks.size() * 700 + frames * 260);
    out.append(head, 0, stacks_at);
    out += '[';
    FrameTexts frame_text;
    for (size_t i = 0; i < r.stacks.size(); ++i) {
        const LeakStack& s = r.stacks[i];
        open_item(out, i, 2);
        const std::string text = stack_json(r, s, false).dump(2);
        const size_t frames_at = empty_array_at(text, "frames", 2);
        if (s.frames.empty() || frames_at == std::string::npos) {
            append_nested(out, text, 4);
            continue;
        }
        append_nested(out, std::string_view(text).substr(0, frames_at), 4);
        out += '[';
        for (size_t j = 0; j < s.frames.size(); ++j) {
            open_item(out, j, 6);
            out += frame_text(s.frames[j]);
        }
        close_array(out, 6);
        append_nested(out, std::string_view(text).substr(frames_at + 2), 4);
    }
    close_array(out, 2);
    out.append(head, stacks_at + 2);
    return out;
}

std::string leaks_text(const LeakReport& r, size_t top, bool final_report) {
    std::ostringstream o;
    const double dur_s = static_cast<double>(r.duration_ns) / 1e9;
    o << "perfbpf trace --leaks: " << r.mode << " mode, pid " << r.pid;
    if (!r.comm.empty()) o << " (" << r.comm << ")";
    o << ", " << format_fixed(dur_s, 1) << " s";
    if (r.target_exited) o << ", target exited (status " << r.exit_code << ")";
    o << (final_report ? "" : " [live]") << "\n";
    for (const auto& n : r.notes) o << "note: " << n << "\n";

    for (const auto& p : r.processes) {
        o << "process " << p.pid << " (" << p.comm << "): " << leak_class_name(p.trend.cls)
          << ", RSS " << format_bytes(p.rss.empty() ? 0 : p.rss.back().bytes) << ", "
          << format_bytes(p.trend.slope_bytes_per_s) << "/s, confidence "
          << format_fixed(p.trend.confidence, 2) << "; anonymous memory faulted in "
          << format_bytes(p.faulted_bytes) << ", heap growth " << format_bytes(p.heap_growth_bytes)
          << "\n";
    }

    if (r.reach.scanned)
        o << reach_line("definitely lost:", r.reach.lost_bytes, r.reach.lost_blocks) << "; "
          << reach_line("indirectly lost:", r.reach.indirect_bytes, r.reach.indirect_blocks) << "; "
          << reach_line("possibly lost:", r.reach.possible_bytes, r.reach.possible_blocks) << "; "
          << reach_line("still reachable:", r.reach.reachable_bytes, r.reach.reachable_blocks)
          << "\n";
    size_t shown = 0, leaks = 0;
    double leaked = 0;
    for (const auto& s : r.stacks)
        if (s.trend.cls == LeakClass::leak) {
            ++leaks;
            leaked += s.outstanding_bytes;
        }
    o << leaks << " leaking stack" << (leaks == 1 ? "" : "s") << " holding " << format_bytes(leaked)
      << (r.estimated ? " (estimated)" : "") << "; " << r.stacks.size() << " stacks in all";
    if (r.truncated_stacks) o << ", " << r.truncated_stacks << " truncated";
    o << "\n";
    if (r.unattributed.allocs > 0)
        o << std::llround(r.unattributed.allocs) << " allocations without a stored stack, "
          << format_bytes(r.unattributed.outstanding_bytes) << " of them outstanding (in no stack "
          << "below)\n";
    for (const LeakStack* s : ordered(r)) {
        if (shown++ >= top) break;
        o << "\n";
        if (r.reach.scanned && s->lost_bytes > 0)
            o << "[definitely lost] " << format_bytes(s->lost_bytes)
              << (s->indirect_bytes > 0
                      ? " (+ " + format_bytes(s->indirect_bytes) + " indirectly lost)"
                      : std::string())
              << "; ";
        o << "[" << leak_class_name(s->trend.cls) << "] " << format_bytes(s->outstanding_bytes);
        if (r.estimated && s->samples == 0)
            o << " (nothing sampled; up to " << format_bytes(s->outstanding_bytes_hi)
              << " may be outstanding)";
        else if (r.estimated)
            o << " (95% " << format_bytes(s->outstanding_bytes_lo) << " - "
              << format_bytes(s->outstanding_bytes_hi) << ", " << s->samples << " samples)";
        if (r.mode == "growth")
            o << " added (≈" << std::llround(s->total_allocs)
              << " page faults and heap-growing calls); ";
        else
            o << " in " << std::llround(s->outstanding_allocs) << " allocations outstanding, "
              << std::llround(s->total_allocs) << " allocated, " << std::llround(s->total_frees)
              << " freed"
              << (s->untracked_allocs > 0
                      ? ", " + std::to_string(std::llround(s->untracked_allocs)) + " untracked"
                      : "")
              << "; ";
        o << format_bytes(s->trend.slope_bytes_per_s) << "/s, confidence "
          << format_fixed(s->trend.confidence, 2);
        if (s->oldest_age_ns) o << ", oldest " << age_text(s->oldest_age_ns);
        if (r.reach.scanned)
            o << "; lost " << format_bytes(s->lost_bytes) << " + "
              << format_bytes(s->indirect_bytes) << " indirectly, possibly "
              << format_bytes(s->possible_bytes) << ", reachable "
              << format_bytes(s->reachable_bytes);
        o << "\n";
        for (size_t i = 0; i < s->frames.size(); ++i) {
            const LeakFrame& f = s->frames[i];
            // A kernel stack's user part: the call path in the process that led to it.
            if (i && s->frames[i - 1].kernel && !f.kernel) o << "    -- user space --\n";
            o << "    " << f.function;
            if (!f.file.empty()) o << " at " << f.file << ":" << f.line;
            if (f.inlined) o << " (inlined)";
            o << "  [" << base(f.module) << "]\n";
        }
        if (s->frames.empty()) o << "    (no stack)\n";
        if (s->truncated) o << "    ... (stack truncated)\n";
    }
    if (shown > top) o << "\n(" << r.stacks.size() - top << " more stacks: --top N)\n";
    return o.str();
}

std::string leaks_folded(const LeakReport& r) {
    std::ostringstream o;
    for (const auto& s : r.stacks) {
        if (s.outstanding_bytes <= 0 || s.frames.empty()) continue;
        for (size_t i = s.frames.size(); i-- > 0;) {
            std::string f = s.frames[i].function;
            std::replace(f.begin(), f.end(), ';', ':');
            o << f << (i ? ";" : "");
        }
        o << " " << std::llround(s.outstanding_bytes) << "\n";
    }
    return o.str();
}

}  // namespace perfbpf

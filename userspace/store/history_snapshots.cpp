#include "store/history_snapshots.h"

#include <algorithm>
#include <stdexcept>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "model/series_extract.h"
#include "model/series_restore.h"
#include "util/safe_open.h"

namespace perfbpf {
namespace {

// Read this many intervals around the one asked for; keep at most kCacheMax.
constexpr size_t kWindow = 30;
constexpr size_t kCacheMax = 600;

// Present at every interval the daemon wrote (a host series without labels).
constexpr const char* kClockSeries = "cpu_busy_pct";

}  // namespace

namespace {

// The points at which an alert_state series says its alert fired, by time.
void add_firing(const SeriesResult& s,
                std::map<int64_t, std::vector<DaemonStatus::FiringAlert>>& firing) {
    DaemonStatus::FiringAlert a;
    std::string object;
    for (const auto& [name, value] : s.key.labels) {
        if (name == "alert") {
            a.alert = value;
        } else if (name == "severity") {
            a.severity = parse_severity(value).value_or(Severity::warning);
        } else {
            object += (object.empty() ? "" : " ") + name + "=" + value;
        }
    }
    a.summary = object.empty() ? "host" : object;
    bool in_run = false;  // since: the first point of a run of firing points read
    for (const auto& p : s.points) {
        if (p.value < 0.5) {
            in_run = false;
            continue;
        }
        if (!in_run) a.since_unix_ms = p.ts_ms;
        in_run = true;
        firing[p.ts_ms].push_back(a);
    }
}

}  // namespace

Result<HistorySnapshots> HistorySnapshots::open(History history, int64_t from_ms, int64_t to_ms) {
    Selector clock;
    clock.metric = kClockSeries;
    auto series = history.query(clock, from_ms, to_ms, 0);
    if (!series) return std::unexpected(series.error());
    std::vector<int64_t> times;
    for (const auto& s : *series)
        if (s.key.labels.empty())
            for (const auto& p : s.points) times.push_back(p.ts_ms);
    std::sort(times.begin(), times.end());
    times.erase(std::unique(times.begin(), times.end()), times.end());
    if (times.empty()) return fail("history has no intervals in that time range");
    return HistorySnapshots(std::move(history), std::move(times));
}

size_t HistorySnapshots::index_at(int64_t ms) const {
    auto it = std::upper_bound(times_ms_.begin(), times_ms_.end(), ms);
    return it == times_ms_.begin() ? 0 : static_cast<size_t>(it - times_ms_.begin()) - 1;
}

Result<void> HistorySnapshots::load_window(size_t i) {
    const size_t lo = i > kWindow ? i - kWindow : 0;
    const size_t hi = std::min(times_ms_.size() - 1, i + kWindow);
    auto series = history_->query(Selector{}, times_ms_[lo], times_ms_[hi], 0);
    if (!series) return std::unexpected(series.error());
    std::map<int64_t, std::vector<SeriesSample>> by_time;
    std::map<int64_t, std::vector<DaemonStatus::FiringAlert>> firing;
    for (const auto& s : *series) {
        if (s.key.metric == kAlertStateMetric) {
            add_firing(s, firing);
            continue;
        }
        for (size_t p = 0; p < s.points.size(); ++p) {
            SeriesSample smp;
            smp.key = s.key;
            smp.kind = s.kind;
            smp.value = s.points[p].value;
            if (s.kind == MetricKind::histogram && p < s.hists.size()) smp.hist = s.hists[p];
            by_time[s.points[p].ts_ms].push_back(std::move(smp));
        }
    }
    if (cache_.size() > kCacheMax) {
        cache_.clear();
        alerts_.clear();
    }
    for (size_t k = lo; k <= hi; ++k) {
        const int64_t t = times_ms_[k];
        const int64_t prev = k > 0
                                 ? times_ms_[k - 1]
                                 : (k + 1 < times_ms_.size() ? 2 * t - times_ms_[k + 1] : t - 1000);
        const uint64_t interval_ns =
            static_cast<uint64_t>(std::max<int64_t>(t - prev, 1)) * 1'000'000;
        auto f = firing.find(t);
        alerts_[k] = f == firing.end() ? std::vector<DaemonStatus::FiringAlert>{} : f->second;
        auto it = by_time.find(t);
        cache_[k] = snapshot_from_series(
            it == by_time.end() ? std::vector<SeriesSample>{} : it->second, interval_ns, t);
    }
    return {};
}

Snapshot HistorySnapshots::at(size_t i) {
    if (i >= times_ms_.size())
        throw std::runtime_error("history: no interval " + std::to_string(i));
    auto it = cache_.find(i);
    if (it == cache_.end()) {
        if (auto r = load_window(i); !r) throw std::runtime_error(r.error().message);
        it = cache_.find(i);
    }
    return it->second;
}

std::vector<DaemonStatus::FiringAlert> HistorySnapshots::alerts_at(size_t i) {
    (void)at(i);  // loads the window holding i
    return alerts_[i];
}

Result<HistoryRecorder> HistoryRecorder::open(const std::string& dir) {
    // Made if missing; refused when it is a symlink or others could swap files in it (root
    // recording into /tmp).
    auto checked = open_state_dir(dir, true);
    if (!checked) return fail("record: " + checked.error().message);
    auto h = History::open(dir);
    if (!h) return std::unexpected(h.error());
    return HistoryRecorder(std::move(*h));
}

Result<void> HistoryRecorder::append(const Snapshot& s) {
    SeriesPolicy keep_all;
    keep_all.top_processes = std::numeric_limits<size_t>::max();
    return history_->append(s.end_unix_ms, snapshot_series(s, keep_all));
}

Result<void> HistoryRecorder::flush() {
    return history_->flush();
}

HistoryRecorder::~HistoryRecorder() {
    if (history_)
        if (auto r = history_->flush(); !r)
            std::fprintf(stderr, "perfbpf: record: %s\n", r.error().message.c_str());
}

bool is_history_recording(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return true;
    return std::filesystem::path(path).filename() == "history.db";
}

std::string history_recording_dir(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return path;
    auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? "." : parent.string();
}

}  // namespace perfbpf

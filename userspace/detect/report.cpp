#include "detect/report.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace perfbpf {

std::string_view section_key(ReportSection s) {
    switch (s) {
        case ReportSection::resources:
            return "resources";
        case ReportSection::top_consumers:
            return "top_consumers";
        case ReportSection::verdicts:
            return "verdicts";
        case ReportSection::alerts:
            return "alerts";
        case ReportSection::incidents:
            return "incidents";
        case ReportSection::forecasts:
            return "forecasts";
        case ReportSection::tune_changes:
            return "tune_changes";
    }
    return "?";
}

std::string_view section_title(ReportSection s) {
    switch (s) {
        case ReportSection::resources:
            return "Resources";
        case ReportSection::top_consumers:
            return "Top consumers";
        case ReportSection::verdicts:
            return "Verdicts";
        case ReportSection::alerts:
            return "Alerts";
        case ReportSection::incidents:
            return "Incidents";
        case ReportSection::forecasts:
            return "Forecasts";
        case ReportSection::tune_changes:
            return "Tuning changes";
    }
    return "?";
}

void fill_stats(ResourceStats& r, std::span<const StepValue> steps) {
    r.avg = r.p95 = r.max = 0;
    r.intervals = 0;
    if (steps.empty()) return;
    double weighted = 0;
    std::vector<double> means;
    means.reserve(steps.size());
    r.max = -INFINITY;
    for (const auto& s : steps) {
        weighted += s.mean * static_cast<double>(s.count);
        r.intervals += s.count;
        r.max = std::max(r.max, s.max);
        means.push_back(s.mean);
    }
    r.avg = r.intervals ? weighted / static_cast<double>(r.intervals) : 0;
    // Nearest rank: the smallest value with at least 95 % of the steps at or below it.
    const size_t rank = (95 * means.size() + 99) / 100;
    std::nth_element(means.begin(), means.begin() + static_cast<long>(rank - 1), means.end());
    r.p95 = means[rank - 1];
}

std::vector<StepValue> series_steps(const SeriesResult& s, double interval_s, double scale) {
    std::vector<StepValue> out;
    out.reserve(s.points.size());
    const bool rate = s.kind == MetricKind::counter;
    if (rate && interval_s <= 0) return out;
    for (const auto& p : s.points) {
        if (p.count == 0) continue;
        const double n = static_cast<double>(p.count);
        StepValue v{p.ts_ms, p.sum / n, p.max, p.count};
        if (rate) {
            v.mean /= interval_s;
            v.max /= interval_s;
        }
        v.mean *= scale;
        v.max *= scale;
        out.push_back(v);
    }
    return out;
}

std::vector<StepValue> used_pct_steps(const SeriesResult& total, const SeriesResult& left) {
    std::map<int64_t, const QueryPoint*> totals;
    for (const auto& p : total.points) totals[p.ts_ms] = &p;
    std::vector<StepValue> out;
    for (const auto& l : left.points) {
        auto it = totals.find(l.ts_ms);
        if (it == totals.end() || l.count == 0 || it->second->count == 0) continue;
        const QueryPoint& t = *it->second;
        const double t_mean = t.sum / static_cast<double>(t.count);
        if (t_mean <= 0) continue;
        const double l_mean = l.sum / static_cast<double>(l.count);
        out.push_back({l.ts_ms, 100 * (1 - l_mean / t_mean), 100 * (1 - l.min / t.max), l.count});
    }
    return out;
}

double interval_s_of(const SeriesResult& s, int64_t step_ms) {
    uint64_t fullest = 0;
    for (const auto& p : s.points) fullest = std::max(fullest, p.count);
    if (fullest == 0) return 0;
    return static_cast<double>(step_ms) / 1000.0 / static_cast<double>(fullest);
}

namespace {

std::string label(const Labels& l, std::string_view name) {
    for (const auto& [k, v] : l)
        if (k == name) return v;
    return "";
}

std::string consumer_name(const Labels& l) {
    const std::string pid = label(l, "pid");
    if (!pid.empty()) return label(l, "comm") + " (" + pid + ")";
    const std::string cgroup = label(l, "cgroup");
    return cgroup.empty() ? "/" : cgroup;
}

}  // namespace

std::vector<Consumer> rank_consumers(const std::vector<SeriesResult>& series, TopMeasure measure,
                                     double scale, size_t n) {
    std::map<Labels, double> by_object;
    for (const auto& s : series) {
        if (label(s.key.labels, "comm") == "other") continue;
        double v = 0;
        for (const auto& p : s.points)
            v = measure == TopMeasure::total ? v + p.sum : std::max(v, p.max);
        double& acc = by_object[s.key.labels];
        acc = measure == TopMeasure::total ? acc + v : std::max(acc, v);
    }
    std::vector<Consumer> out;
    for (const auto& [labels, v] : by_object)
        if (v > 0) out.push_back({consumer_name(labels), labels, v * scale});
    std::ranges::sort(out, [](const Consumer& a, const Consumer& b) {
        return a.value != b.value ? a.value > b.value : a.name < b.name;
    });
    if (out.size() > n) out.resize(n);
    return out;
}

int64_t report_chart_step_ms(int64_t from_ms, int64_t to_ms) {
    return to_ms - from_ms > 2 * 86'400'000LL ? 3'600'000 : kReportStepMs;
}

}  // namespace perfbpf

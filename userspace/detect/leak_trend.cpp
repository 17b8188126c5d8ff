#include "detect/leak_trend.h"

#include <algorithm>
#include <cmath>

namespace perfbpf {

// Why the thresholds are what they are:
// - The last 40 % of the trace decides whether a stack is still growing: long enough to
//   span several intervals of a short trace, short enough that a cache which filled in
//   the first half reads as stopped.
// - A tail slope under 15 % of the overall slope is "stopped" (plateau); over 50 % is
//   "keeps growing"; in between, "growing" (slowing down, not yet flat).
// - Outstanding bytes under 2 % of everything the stack allocated is churn: what is
//   outstanding is the working set of short-lived blocks, not accumulation.
// - A leak's allocations age and are never freed: fewer than 5 % of its allocations were
//   freed, or its oldest outstanding block is older than half the trace.

std::string_view leak_class_name(LeakClass c) {
    switch (c) {
        case LeakClass::leak:
            return "leak";
        case LeakClass::growing:
            return "growing";
        case LeakClass::plateau:
            return "plateau";
        case LeakClass::churn:
            return "churn";
    }
    return "churn";
}

LinearFit fit_line(const std::vector<TrendPoint>& pts) {
    LinearFit f;
    const double n = static_cast<double>(pts.size());
    if (pts.size() < 2) return f;
    double st = 0, sy = 0;
    for (const auto& p : pts) {
        st += p.t_s;
        sy += p.bytes;
    }
    const double mt = st / n, my = sy / n;
    double stt = 0, sty = 0, syy = 0;
    for (const auto& p : pts) {
        stt += (p.t_s - mt) * (p.t_s - mt);
        sty += (p.t_s - mt) * (p.bytes - my);
        syy += (p.bytes - my) * (p.bytes - my);
    }
    if (stt <= 0) return f;
    f.slope = sty / stt;
    f.intercept = my - f.slope * mt;
    f.r2 = syy > 0 ? std::clamp(sty * sty / (stt * syy), 0.0, 1.0) : 1.0;
    return f;
}

namespace {

std::vector<TrendPoint> tail_of(const std::vector<TrendPoint>& pts, double fraction) {
    if (pts.size() < 2) return pts;
    const double t0 = pts.front().t_s, t1 = pts.back().t_s;
    const double from = t1 - (t1 - t0) * fraction;
    std::vector<TrendPoint> tail;
    for (const auto& p : pts)
        if (p.t_s >= from) tail.push_back(p);
    // At least two points, reaching back before `from` if the intervals are coarse.
    for (size_t i = pts.size() - tail.size(); tail.size() < 2 && i-- > 0;)
        tail.insert(tail.begin(), pts[i]);
    return tail;
}

// More intervals, more trust: 3 points give 0.6, 8 give 0.8, 18 give 0.9.
double sample_factor(size_t n) {
    return static_cast<double>(n) / (static_cast<double>(n) + 2.0);
}

}  // namespace

TrendVerdict classify_trend(const TrendInput& in, const TrendThresholds& th) {
    TrendVerdict v;
    const auto& pts = in.series;
    const double last = pts.empty() ? 0 : pts.back().bytes;
    const LinearFit fit = fit_line(pts);
    v.slope_bytes_per_s = fit.slope;

    auto finish = [&](LeakClass c, double confidence) {
        v.cls = c;
        v.confidence = std::clamp(confidence, 0.0, 1.0);
        if (in.owner_rss_flat && (c == LeakClass::leak || c == LeakClass::growing)) {
            v.cls = LeakClass::churn;
            v.confidence *= 0.5;  // the owner's RSS says so, not this stack's own frees
        }
        return v;
    };

    if (last <= 0) return finish(LeakClass::churn, in.total_allocs > 0 ? 1.0 : 0.0);
    const bool enough_points = pts.size() >= 4;
    const LinearFit tail = enough_points ? fit_line(tail_of(pts, th.tail_fraction)) : LinearFit{};
    const bool growing_now =
        enough_points && fit.slope > 0 && tail.slope > th.plateau_tail_ratio * fit.slope;
    // A cache fills over several intervals; a working set of short-lived blocks is there
    // from the first one.
    const bool filled_gradually = enough_points && pts[1].bytes < 0.5 * last;
    if (in.frees_known && in.allocated_bytes > 0 &&
        last < th.churn_outstanding_ratio * in.allocated_bytes && !growing_now && !filled_gradually)
        return finish(LeakClass::churn, 1.0 - last / in.allocated_bytes);

    const bool never_freed =
        in.frees_known && in.total_frees <= th.leak_freed_ratio * in.total_allocs;
    const bool aged = never_freed || !in.frees_known ||
                      (in.oldest_age_s >= 0 && in.duration_s > 0 &&
                       in.oldest_age_s >= th.leak_age_ratio * in.duration_s);

    if (enough_points && fit.slope > 0) {
        if (tail.slope <= th.plateau_tail_ratio * fit.slope) {
            double flatness = 1.0 - std::max(0.0, tail.slope) / fit.slope;
            return finish(LeakClass::plateau, flatness * sample_factor(pts.size()));
        }
        double conf = fit.r2 * sample_factor(pts.size());
        if (tail.slope >= th.steady_tail_ratio * fit.slope && aged)
            return finish(LeakClass::leak, conf);
        return finish(LeakClass::growing, conf);
    }
    if (enough_points) {
        // Not growing over the trace (flat or shrinking) but still holding memory.
        return finish(LeakClass::plateau, sample_factor(pts.size()) * (1.0 - fit.r2 * 0.5));
    }
    // A short trace (a program that ran for an interval or two): no trend to fit, so
    // the counts decide. Nothing freed and still outstanding is a leak as of the end.
    if (never_freed) {
        const double allocs = std::max(1.0, in.total_allocs);
        return finish(LeakClass::leak, 1.0 - 1.0 / (1.0 + allocs));
    }
    return finish(LeakClass::growing, 0.3);
}

TrendVerdict classify_stack(const LeakStack& s, double duration_s) {
    TrendInput in;
    in.series = s.series;
    in.total_allocs = s.total_allocs;
    in.total_frees = s.total_frees;
    in.allocated_bytes = s.allocated_bytes;
    in.oldest_age_s = s.oldest_age_ns ? static_cast<double>(s.oldest_age_ns) / 1e9 : -1;
    in.duration_s = duration_s;
    return classify_trend(in);
}

TrendVerdict classify_rss(const std::vector<TrendPoint>& rss, double duration_s) {
    TrendInput in;
    in.frees_known = false;
    in.duration_s = duration_s;
    if (!rss.empty()) {
        // Growth since the trace started: the start is the zero line.
        const double base = rss.front().bytes;
        for (const auto& p : rss) in.series.push_back({p.t_s, p.bytes - base});
    }
    return classify_trend(in);
}

void classify_trends(LeakReport& r) {
    const double duration_s = static_cast<double>(r.duration_ns) / 1e9;
    for (auto& p : r.processes) p.trend = classify_rss(p.rss, duration_s);
    if (r.mode != "growth") {
        for (auto& s : r.stacks) s.trend = classify_stack(s, duration_s);
        return;
    }
    const bool rss_flat =
        !r.processes.empty() && (r.processes.front().trend.cls == LeakClass::plateau ||
                                 r.processes.front().trend.cls == LeakClass::churn);
    for (auto& s : r.stacks) {
        TrendInput in;
        in.series = s.series;
        in.frees_known = false;
        in.duration_s = duration_s;
        in.owner_rss_flat = rss_flat;
        s.trend = classify_trend(in);
    }
}

}  // namespace perfbpf

// Leak-growth classification: from the outstanding bytes of one allocation stack (or the
// memory one code path faulted in) sampled every interval, decide whether it is a leak,
// growing, a plateau or churn, with the slope and a confidence. A pure function: the
// trace command and the daemon share it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "model/leaks.h"
#include "model/trend.h"

namespace perfbpf {

std::string_view leak_class_name(LeakClass c);

struct TrendInput {
    std::vector<TrendPoint> series;  // in time order; the start (0 s, 0 B) included
    // What the allocator probes know (exact/sampled modes); frees_known = false in
    // growth mode, where only growth is seen.
    bool frees_known = true;
    double total_allocs = 0;
    double total_frees = 0;
    double allocated_bytes = 0;  // all bytes allocated from the stack in the trace
    double oldest_age_s = -1;    // age of the oldest outstanding allocation; -1 unknown
    double duration_s = 0;       // length of the trace
    // Growth mode: the process's RSS did not grow over the trace, so memory a stack keeps
    // faulting in is given back elsewhere (churn, not a leak).
    bool owner_rss_flat = false;
};

// Thresholds, with the reasons in leak_trend.cpp.
struct TrendThresholds {
    double tail_fraction = 0.4;        // the last part of the trace that decides "still growing"
    double plateau_tail_ratio = 0.15;  // tail slope below this share of the overall: stopped
    double steady_tail_ratio = 0.5;    // tail slope above this share: keeps growing
    double churn_outstanding_ratio = 0.02;  // outstanding below this share of allocated: churn
    double leak_freed_ratio = 0.05;         // frees below this share of allocs: never freed
    double leak_age_ratio = 0.5;            // oldest allocation older than this share of the trace
};

TrendVerdict classify_trend(const TrendInput& in, const TrendThresholds& th = {});

// The verdict of one stack of a report from its totals and series (exact, sampled and
// kernel modes: frees known).
TrendVerdict classify_stack(const LeakStack& s, double duration_s);

// Growth mode: the process's verdict from its RSS series (bytes at each interval, in
// time order); the start is the zero line.
TrendVerdict classify_rss(const std::vector<TrendPoint>& rss, double duration_s);

// Every verdict of a report, from the series its reader gathered: each process's RSS and
// each stack's outstanding bytes. In growth mode only growth is seen (frees unknown), and
// memory a stack keeps adding while its process's RSS stays flat is given back elsewhere.
void classify_trends(LeakReport& r);

// Least-squares slope and r² of y over t (0, 0 when fewer than two distinct times).
struct LinearFit {
    double slope = 0;
    double intercept = 0;
    double r2 = 0;
};
LinearFit fit_line(const std::vector<TrendPoint>& pts);

}  // namespace perfbpf

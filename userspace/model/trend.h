// Types of the leak-growth trend, shared by the model (LeakReport) and detect/leak_trend.
#pragma once

namespace perfbpf {

enum class LeakClass { leak, growing, plateau, churn };

struct TrendPoint {
    double t_s = 0;    // seconds since the trace started
    double bytes = 0;  // outstanding (or cumulative faulted-in) bytes at t_s
};

struct TrendVerdict {
    LeakClass cls = LeakClass::churn;
    double slope_bytes_per_s = 0;  // least-squares slope over the whole trace
    double confidence = 0;         // 0..1
};

}  // namespace perfbpf

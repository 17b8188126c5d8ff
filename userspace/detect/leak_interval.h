// Sampled mode's 95 % interval on a stack's outstanding bytes. Allocations are sampled by
// bytes, a Poisson process with one sample per `mean_bytes` on average, so the interval
// follows from the number of samples still outstanding, including when there are none.
#pragma once

#include <cstdint>
#include <utility>

namespace perfbpf {

// −ln(0.05): the expected number of samples below which seeing none has at least a 5 %
// chance. B bytes outstanding hold no sample with probability exp(−B / mean).
inline constexpr double kNoSampleExpected95 = 2.995732273553991;

// Garwood's 95 % interval for the mean of a Poisson count k.
std::pair<double, double> poisson_interval(double k);

struct OutstandingInterval {
    double lo = 0;
    double hi = 0;
};

// `estimate`: estimated outstanding bytes; `variance_bytes2`: Σ size² w (w − 1) over the
// sampled allocations still outstanding; `samples`: how many there are; `mean_bytes`: the
// sampling mean. With no sample the interval is [0, −ln(0.05) · mean_bytes].
OutstandingInterval outstanding_interval(double estimate, double variance_bytes2, uint64_t samples,
                                         double mean_bytes);

}  // namespace perfbpf

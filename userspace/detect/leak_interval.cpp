#include "detect/leak_interval.h"

#include <algorithm>
#include <cmath>

namespace perfbpf {

// The chi-square quantiles by the Wilson-Hilferty approximation: good to a few percent
// from k = 1 up.
std::pair<double, double> poisson_interval(double k) {
    const double z = 1.959964;
    auto chi2 = [&](double nu, double zq) {
        double a = 2.0 / (9.0 * nu);
        double v = 1.0 - a + zq * std::sqrt(a);
        return nu * v * v * v;
    };
    double lo = k > 0 ? chi2(2.0 * k, -z) / 2.0 : 0.0;
    double hi = chi2(2.0 * k + 2.0, z) / 2.0;
    return {std::max(0.0, lo), hi};
}

OutstandingInterval outstanding_interval(double estimate, double variance_bytes2, uint64_t samples,
                                         double mean_bytes) {
    if (samples == 0 || estimate <= 0) return {0.0, kNoSampleExpected95 * mean_bytes};
    if (variance_bytes2 <= 0) return {estimate, estimate};  // every sample certain (w = 1)
    // Effective number of samples (est² / variance: the count when all weigh the same).
    const double k = estimate * estimate / variance_bytes2;
    auto [lo, hi] = poisson_interval(k);
    return {estimate * lo / k, estimate * hi / k};
}

}  // namespace perfbpf

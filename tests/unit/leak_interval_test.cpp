// Sampled mode's 95 % interval on outstanding bytes, at zero samples and above.
#include <gtest/gtest.h>

#include <cmath>

#include "detect/leak_interval.h"

namespace perfbpf {
namespace {

TEST(LeakInterval, NothingSampledIsZeroToThePoissonBound) {
    auto iv = outstanding_interval(0, 0, 0, 524288);
    EXPECT_EQ(iv.lo, 0);
    // −ln(0.05) expected samples at one per 512 KiB: ≈1.5 MiB could hide unsampled.
    EXPECT_NEAR(iv.hi, -std::log(0.05) * 524288, 1);
    EXPECT_NEAR(iv.hi, 1570626, 1);
}

TEST(LeakInterval, TheZeroBoundIsWhereSeeingNoSampleBecomesUnlikely) {
    // B bytes outstanding hold no sample with probability exp(−B / mean): 5 % at the bound.
    const double mean = 4096;
    auto iv = outstanding_interval(0, 0, 0, mean);
    EXPECT_NEAR(std::exp(-iv.hi / mean), 0.05, 1e-9);
    // Scales with the sampling mean.
    EXPECT_NEAR(outstanding_interval(0, 0, 0, 2 * mean).hi, 2 * iv.hi, 1e-6);
}

TEST(LeakInterval, SamplesOfEqualWeightGiveGarwoodsInterval) {
    // 10 samples of 100 B each at weight 1000: est 1e6, variance Σ s² w (w − 1).
    const double w = 1000, est = 10 * 100 * w, var = 10 * 100.0 * 100.0 * w * (w - 1);
    auto iv = outstanding_interval(est, var, 10, 100 * w);
    // Garwood's 95 % interval for k ≈ 10: [4.80, 18.39], scaled by est / k.
    const double k = est * est / var;
    EXPECT_NEAR(iv.lo / (est / k), 4.795, 0.1);
    EXPECT_NEAR(iv.hi / (est / k), 18.39, 0.2);
    EXPECT_LT(iv.lo, est);
    EXPECT_GT(iv.hi, est);
}

TEST(LeakInterval, CertainSamplesHaveNoSpread) {
    // Allocations far larger than the mean are sampled with certainty (w = 1).
    auto iv = outstanding_interval(8 << 20, 0, 2, 4096);
    EXPECT_EQ(iv.lo, 8 << 20);
    EXPECT_EQ(iv.hi, 8 << 20);
}

}  // namespace
}  // namespace perfbpf

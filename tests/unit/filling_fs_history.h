// A history with a filling filesystem, written with the History API, for the forecast
// tests (unit: store/forecast_series; kernel: the perfbpf forecast command on it).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>

#include "store/history.h"

namespace perfbpf::test {

inline const Labels kFillingFs{{"device", "vdb1"}, {"mountpoint", "/data"}};
inline const Labels kFlatFs{{"device", "vda1"}, {"mountpoint", "/"}};

// `days` of a filling /data every 5 minutes up to `now_ms`: growing 8 GB a day to 92 GB
// with a daily wiggle and some jitter, on a 100 GB filesystem (full a day after now); and
// a / of 20 GB that stays at 5 GB.
inline void write_filling_fs_history(History& h, int64_t now_ms, int days) {
    constexpr int64_t kMin = 60'000, kDay = 1440 * kMin;
    const SeriesId used = h.intern({"fs_used_bytes", kFillingFs}, MetricKind::level);
    const SeriesId size = h.intern({"fs_size_bytes", kFillingFs}, MetricKind::level);
    const SeriesId root_used = h.intern({"fs_used_bytes", kFlatFs}, MetricKind::level);
    const SeriesId root_size = h.intern({"fs_size_bytes", kFlatFs}, MetricKind::level);
    uint64_t jitter = 1;
    for (int64_t ts = now_ms - days * kDay; ts <= now_ms; ts += 5 * kMin) {
        const double to_now = static_cast<double>(now_ms - ts) / kDay;
        jitter = jitter * 6364136223846793005ULL + 1442695040888963407ULL;
        const double noise = (static_cast<double>(jitter >> 40) / (1 << 24) - 0.5) * 0.2e9;
        const double v =
            92e9 - 8e9 * to_now + 0.3e9 * std::sin(2 * std::numbers::pi * to_now) + noise;
        const std::pair<SeriesId, double> values[] = {
            {used, v}, {size, 100e9}, {root_used, 5e9}, {root_size, 20e9}};
        auto r = h.append(ts, values, {});
        ASSERT_TRUE(r) << r.error().message;
    }
    ASSERT_TRUE(h.flush());
}

}  // namespace perfbpf::test

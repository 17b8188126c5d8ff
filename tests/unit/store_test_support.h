// What the history tests share: a scratch state directory and a synthetic host whose
// series have known values at every timestamp, so a query can be checked point by point.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/history.h"
#include "store/labelset_members.h"
#include "store/sqlite_db.h"
#include "util/scratch_dir.h"

namespace perfbpf::test {

class StateDir : public ScratchDir {
  public:
    StateDir() : ScratchDir("perfbpf-history") {}
    std::string db() const { return path() + "/history.db"; }
};

inline constexpr int64_t kT0 = 1'796'428'800'000;  // 2026-12-05T00:00:00Z, a day boundary

// Series i at time ts: integral counters that move slowly, or a gauge with a fraction.
inline double synthetic_value(size_t i, int64_t ts) {
    int64_t sec = (ts - kT0) / 1000;
    if (i % 2 == 0) return static_cast<double>(i * 100 + sec / 7);
    return static_cast<double>(i) + 0.25 * static_cast<double>(sec % 13);
}

inline std::vector<SeriesId> intern_synthetic(History& h, size_t n) {
    std::vector<SeriesId> ids;
    for (size_t i = 0; i < n; ++i)
        ids.push_back(h.intern({"cpu_pct", {{"pid", std::to_string(1000 + i)}}},
                               i % 2 == 0 ? MetricKind::counter : MetricKind::gauge));
    return ids;
}

// Appends one interval every step_ms in [from, to).
inline void append_synthetic(History& h, const std::vector<SeriesId>& ids, int64_t from, int64_t to,
                             int64_t step_ms = 1000) {
    std::vector<std::pair<SeriesId, double>> values(ids.size());
    for (int64_t ts = from; ts < to; ts += step_ms) {
        for (size_t i = 0; i < ids.size(); ++i) values[i] = {ids[i], synthetic_value(i, ts)};
        auto r = h.append(ts, values, {});
        ASSERT_TRUE(r) << r.error().message;
    }
}

// One number from the database behind a History's back (rows per table, tier).
inline int64_t db_scalar(const StateDir& dir, const std::string& sql) {
    auto db = store::Db::open(dir.db());
    EXPECT_TRUE(db) << db.error().message;
    auto v = db->scalar(sql, "test");
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : -1;
}

// Series the labelsets table lists (each label set's members).
inline int64_t stored_series(const StateDir& dir) {
    auto db = store::Db::open(dir.db());
    EXPECT_TRUE(db) << db.error().message;
    auto rows = db->prepare("SELECT members FROM labelsets", "test");
    EXPECT_TRUE(rows) << rows.error().message;
    int64_t n = 0;
    while (true) {
        auto row = rows->step();
        EXPECT_TRUE(row);
        if (!row || !*row) break;
        auto members = store::decode_members(rows->blob(0));
        EXPECT_TRUE(members) << members.error().message;
        if (members) n += static_cast<int64_t>(members->size());
    }
    return n;
}

inline Selector all_cpu() {
    return *parse_selector("cpu_pct");
}

}  // namespace perfbpf::test

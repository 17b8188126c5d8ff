#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "store/history.h"
#include "store_test_support.h"
#include "util/files.h"

namespace perfbpf {
namespace {

using test::kT0;
namespace fs = std::filesystem;

std::vector<std::string> corrupt_copies(const test::StateDir& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir.path()))
        if (e.path().filename().string().starts_with("history.db.corrupt-"))
            out.push_back(e.path().filename().string());
    return out;
}

// A fresh store still takes intervals and answers for them.
void expect_usable(History& h) {
    auto ids = test::intern_synthetic(h, 3);
    test::append_synthetic(h, ids, kT0, kT0 + 5000);
    auto res = h.query(test::all_cpu(), kT0, kT0 + 5000, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 3u);
    EXPECT_EQ((*res)[0].points.size(), 5u);
}

TEST(StoreFaults, GarbageFileIsMovedAsideAndAFreshOneCreated) {
    test::StateDir dir;
    std::ofstream(dir.db()) << std::string(8192, 'x');
    std::ofstream(dir.db() + "-wal") << "not a wal either";
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    ASSERT_EQ(h->notes().size(), 1u);
    EXPECT_NE(h->notes()[0].find("moved corrupt " + dir.db() + " to " + dir.db() + ".corrupt-"),
              std::string::npos)
        << h->notes()[0];
    // The file and its WAL (and the -shm SQLite made while looking) under one name.
    std::string base = h->notes()[0].substr(h->notes()[0].find(".corrupt-") + 1);
    base = "history.db." + base.substr(0, base.find(';'));
    auto moved = corrupt_copies(dir);
    EXPECT_THAT(moved, ::testing::IsSupersetOf({base, base + "-wal"}));
    EXPECT_EQ(read_file(dir.path() + "/" + base).value(), std::string(8192, 'x'));
    EXPECT_EQ(read_file(dir.path() + "/" + base + "-wal").value(), "not a wal either");
    expect_usable(*h);
}

TEST(StoreFaults, DamagedPagesFailQuickCheckAndAreMovedAside) {
    test::StateDir dir;
    {
        auto h = History::open(dir.path());
        ASSERT_TRUE(h);
        auto ids = test::intern_synthetic(*h, 50);
        test::append_synthetic(*h, ids, kT0, kT0 + 7'200'000, 10'000);
        ASSERT_TRUE(h->flush());
    }  // the last close checkpoints the WAL into the file
    auto size = fs::file_size(dir.db());
    ASSERT_GT(size, 4 * 4096u);
    {
        std::fstream f(dir.db(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4096);  // pages 2-4: the pointer map and the first tables' roots
        std::string junk(3 * 4096, '\xa5');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    ASSERT_EQ(h->notes().size(), 1u);
    EXPECT_GE(corrupt_copies(dir).size(), 1u);
    auto res = h->query(test::all_cpu(), kT0, kT0 + 7'200'000, 0);
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->empty());  // fresh
    expect_usable(*h);
}

TEST(StoreFaults, NewerSchemaIsRefusedAndLeftUntouched) {
    test::StateDir dir;
    {
        auto h = History::open(dir.path());
        ASSERT_TRUE(h);
        expect_usable(*h);
        ASSERT_TRUE(h->flush());
    }
    {
        auto db = store::Db::open(dir.db());
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("UPDATE meta SET value = 7 WHERE key = 'schema_version'", "test"));
    }
    auto before = read_file(dir.db()).value();
    auto h = History::open(dir.path());
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message.find("schema_version 7, newer than this perfbpf's " +
                                     std::to_string(History::kSchemaVersion)),
              std::string::npos)
        << h.error().message;
    EXPECT_NE(h.error().message.find(dir.db()), std::string::npos);
    EXPECT_EQ(read_file(dir.db()).value(), before);
    EXPECT_TRUE(corrupt_copies(dir).empty());
}

TEST(StoreFaults, FullDiskDropsWholeIntervalsAndRecoversWhenSpaceReturns) {
    test::StateDir dir;
    auto h = History::open(dir.path());
    ASSERT_TRUE(h);
    auto ids = test::intern_synthetic(*h, 200);
    test::append_synthetic(*h, ids, kT0, kT0 + 10'000);
    // Cap the file where it is now: the next few intervals fill the free pages, then
    // nothing fits.
    HistoryOptions capped;
    capped.max_pages = static_cast<uint64_t>(test::db_scalar(dir, "PRAGMA page_count"));
    ASSERT_TRUE(h->set_options(capped));
    std::vector<std::pair<SeriesId, double>> values;
    for (SeriesId id : ids) values.emplace_back(id, 1.5);
    int64_t ts = kT0 + 10'000;
    Result<void> r;
    for (; ts < kT0 + 1'000'000 && r; ts += 1000) r = h->append(ts, values, {});
    ASSERT_FALSE(r) << "the cap never filled";
    EXPECT_NE(r.error().message.find("disk full"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("database or disk is full"), std::string::npos);
    EXPECT_EQ(h->dropped_intervals(), 1u);
    const int64_t failed_ts = ts - 1000;

    // A new series in a dropped interval is not half-stored either.
    SeriesId fresh = h->intern({"rss_bytes", {{"pid", "1"}}}, MetricKind::level);
    values.emplace_back(fresh, 4096);
    EXPECT_FALSE(h->append(failed_ts + 1000, values, {}));
    EXPECT_EQ(h->dropped_intervals(), 2u);
    EXPECT_EQ(test::stored_series(dir), 200);
    EXPECT_EQ(test::db_scalar(
                  dir, "SELECT count(*) FROM head WHERE ts_ms >= " + std::to_string(failed_ts)),
              0);

    HistoryOptions roomy;
    roomy.max_pages = 1'000'000;
    ASSERT_TRUE(h->set_options(roomy));
    auto ok = h->append(failed_ts + 2000, values, {});
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(h->dropped_intervals(), 2u);
    auto res = h->query(*parse_selector("rss_bytes"), kT0, failed_ts + 2000, 0);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->size(), 1u);
    ASSERT_EQ((*res)[0].points.size(), 1u);
    EXPECT_EQ((*res)[0].points[0].value, 4096);
    // Every interval before the failure is whole.
    auto cpu = h->query(test::all_cpu(), kT0, failed_ts + 2000, 0);
    ASSERT_TRUE(cpu);
    EXPECT_EQ((*cpu)[0].points.size(), static_cast<size_t>((failed_ts - kT0) / 1000 + 1));
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

// A head that fills the disk (here max_pages) is what compaction shrinks: intervals are
// dropped while it is full, and the first one past the span boundary gets in by
// compacting the head into chunks that take a fraction of its pages.
TEST(StoreFaults, FullHeadIsCompactedToMakeRoom) {
    test::StateDir dir;
    HistoryOptions o;
    o.chunk_ms = {600'000, 3'600'000, 86'400'000};
    auto h = History::open(dir.path(), o);
    ASSERT_TRUE(h);
    auto ids = test::intern_synthetic(*h, 100);
    test::append_synthetic(*h, ids, kT0, kT0 + 60'000);
    o.max_pages = static_cast<uint64_t>(test::db_scalar(dir, "PRAGMA page_count")) + 60;
    ASSERT_TRUE(h->set_options(o));
    std::vector<int64_t> stored;
    for (int64_t ts = kT0; ts < kT0 + 60'000; ts += 1000) stored.push_back(ts);
    std::vector<std::pair<SeriesId, double>> values(ids.size());
    const int64_t end = kT0 + 1'810'000;  // 10 s past the third span boundary
    for (int64_t ts = kT0 + 60'000; ts < end; ts += 1000) {
        for (size_t i = 0; i < ids.size(); ++i) values[i] = {ids[i], test::synthetic_value(i, ts)};
        if (h->append(ts, values, {})) stored.push_back(ts);
    }
    EXPECT_GT(h->dropped_intervals(), 0u) << "the head never filled the cap";
    // The intervals after each boundary got in again.
    for (int64_t b : {kT0 + 600'000, kT0 + 1'200'000, kT0 + 1'800'000})
        EXPECT_TRUE(std::find(stored.begin(), stored.end(), b) != stored.end()) << b - kT0;
    EXPECT_EQ(stored.back(), end - 1000);
    EXPECT_GT(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE tier = 0"), 0);
    auto res = h->query(test::all_cpu(), kT0, end, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ((*res)[0].points.size(), stored.size());
    for (size_t p = 0; p < stored.size(); ++p) {
        ASSERT_EQ((*res)[0].points[p].ts_ms, stored[p]);
        ASSERT_EQ((*res)[0].points[p].value, test::synthetic_value(0, stored[p]));
    }
}

}  // namespace
}  // namespace perfbpf

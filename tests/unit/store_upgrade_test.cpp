// Databases written by older perfbpfs (schemas 1 and 2: a chunk row per series, metric
// names in the series rows; schema 3: a series table beside the label sets) are upgraded
// when opened: the same series and every point of every kind exactly as stored, and new
// intervals still go in.
#include <gtest/gtest.h>

#include <map>

#include "model/series_extract.h"
#include "store/chunk_codec.h"
#include "store/head_row.h"
#include "store/history.h"
#include "store_test_support.h"

namespace perfbpf {
namespace {

using test::kT0;
constexpr int64_t kHour = 3'600'000;

// Schema 2 as perfbpf wrote it.
constexpr const char* kSchema2 = R"(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE labelsets(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE series(id INTEGER PRIMARY KEY, metric TEXT NOT NULL,
    labelset INTEGER NOT NULL, kind INTEGER NOT NULL, UNIQUE(metric, labelset));
CREATE TABLE chunks(series_id INTEGER NOT NULL, tier INTEGER NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, count INTEGER NOT NULL,
    blob BLOB NOT NULL, PRIMARY KEY(series_id, tier, start_ms)) WITHOUT ROWID;
CREATE INDEX chunks_by_tier_start ON chunks(tier, start_ms);
CREATE TABLE head(ts_ms INTEGER PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE timelines(start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL,
    blob BLOB NOT NULL);
)";

// Schema 3 as perfbpf wrote it.
constexpr const char* kSchema3 = R"(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE labelsets(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE metrics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE series(id INTEGER PRIMARY KEY, metric INTEGER NOT NULL,
    labelset INTEGER NOT NULL, kind INTEGER NOT NULL);
CREATE UNIQUE INDEX series_by_labelset ON series(labelset, metric);
CREATE TABLE chunks(id INTEGER PRIMARY KEY, labelset INTEGER NOT NULL,
    tier INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
    blob BLOB NOT NULL);
CREATE UNIQUE INDEX chunks_by_labelset ON chunks(labelset, tier, start_ms);
CREATE INDEX chunks_by_tier_start ON chunks(tier, start_ms);
CREATE TABLE head(ts_ms INTEGER PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE timelines(start_ms INTEGER PRIMARY KEY, end_ms INTEGER NOT NULL,
    blob BLOB NOT NULL);
)";

struct OldSeries {
    const char* metric;
    const char* labels;
    MetricKind kind;
};
// Two processes: one counter, gauge, level and histogram among them.
const OldSeries kSeries[] = {
    {"read_bytes", R"(comm="a",pid="1")", MetricKind::counter},
    {"cpu_pct", R"(comm="a",pid="1")", MetricKind::gauge},
    {"rss_bytes", R"(comm="b",pid="2")", MetricKind::level},
    {"runq_hist", R"(comm="b",pid="2")", MetricKind::histogram},
};

Log2Histogram hist_at(int i) {
    Log2Histogram h;
    h.add_slot(static_cast<size_t>(i % 7), static_cast<uint64_t>(i));
    h.add_slot(10, 3);
    return h;
}

// What every series holds: value (or histogram) by timestamp.
struct Expected {
    std::map<int64_t, double> values;
    std::map<int64_t, Log2Histogram> hists;
};

double value_at(size_t s, int i) {
    switch (s) {
        case 0:
            return 4096.0 * (i % 5);
        case 1:
            return (i * 37 % 1000) / 100.0;  // two decimals, as cpu_pct keeps
        default:
            return 1e6 + 4096.0 * i;
    }
}

// Hour 0: chunks naming a timeline (the jittered timestamps of the span; series 2 only in
// part of it); hour 1: chunks with their own timestamps; then three head rows. Schema 2
// keeps a chunk row per series, schema 3 one per label set and hour.
std::vector<Expected> write_old(const test::StateDir& dir, int schema) {
    std::vector<Expected> want(std::size(kSeries));
    auto db = store::Db::open(dir.db());
    EXPECT_TRUE(db);
    EXPECT_TRUE(db->exec(schema == 2 ? kSchema2 : kSchema3, "old schema"));
    EXPECT_TRUE(db->exec("INSERT INTO meta VALUES('schema_version', " + std::to_string(schema) +
                             "), ('wm0', " + std::to_string(kT0 + 2 * kHour) + ")",
                         "meta"));
    EXPECT_TRUE(db->exec(R"(INSERT INTO labelsets(labels) VALUES('comm="a",pid="1"'),
                            ('comm="b",pid="2"'))",
                         "labelsets"));
    for (size_t s = 0; s < std::size(kSeries); ++s) {
        if (schema == 3) {
            auto m = db->prepare("INSERT INTO metrics(id, name) VALUES(?, ?)", "metric");
            EXPECT_TRUE(m);
            m->bind(1, static_cast<int64_t>(s + 1)).bind(2, kSeries[s].metric);
            EXPECT_TRUE(m->run());
        }
        auto ins = db->prepare("INSERT INTO series VALUES(?, ?, ?, ?)", "series");
        EXPECT_TRUE(ins);
        ins->bind(1, static_cast<int64_t>(s + 1));
        if (schema == 3)
            ins->bind(2, static_cast<int64_t>(s + 1));
        else
            ins->bind(2, kSeries[s].metric);
        ins->bind(3, static_cast<int64_t>(s / 2 + 1))
            .bind(4, static_cast<int64_t>(kSeries[s].kind));
        EXPECT_TRUE(ins->run());
    }
    std::vector<int64_t> timeline;
    for (int i = 0; i < 120; ++i) timeline.push_back(kT0 + i * 1000 + (i * 7919) % 23);
    auto tl = store::encode_timeline(timeline);
    EXPECT_TRUE(tl);
    auto ins_tl = db->prepare("INSERT INTO timelines VALUES(?, ?, ?)", "timeline");
    ins_tl->bind(1, timeline.front()).bind(2, timeline.back()).bind_blob(3, *tl);
    EXPECT_TRUE(ins_tl->run());
    auto ins_chunk = db->prepare(schema == 2 ? "INSERT INTO chunks VALUES(?, 0, ?, ?, ?, ?)"
                                             : "INSERT INTO chunks(labelset, tier, start_ms, "
                                               "end_ms, blob) VALUES(?, 0, ?, ?, ?)",
                                 "chunk");
    for (int hour = 0; hour < 2; ++hour) {
        std::vector<store::ChunkGroupMember> group;  // schema 3: of one label set
        int64_t group_start = 0, group_end = 0;
        for (size_t s = 0; s < std::size(kSeries); ++s) {
            bool hist = kSeries[s].kind == MetricKind::histogram;
            store::ChunkEncoder enc(hist ? 0 : 1, hist, stored_decimals(kSeries[s].metric));
            for (int i = 0; i < 120; ++i) {
                if (s == 2 && hour == 0 && (i < 10 || (i > 40 && i < 60))) continue;
                int64_t ts = hour == 0 ? timeline[static_cast<size_t>(i)] : kT0 + kHour + i * 1000;
                if (hist) {
                    auto h = hist_at(i);
                    enc.add(ts, {}, &h);
                    want[s].hists[ts] = h;
                } else {
                    double v = value_at(s, i);
                    enc.add(ts, std::span<const double>(&v, 1), nullptr);
                    want[s].values[ts] = v;
                }
            }
            const std::vector<int64_t>* tl_of_hour = hour == 0 ? &timeline : nullptr;
            if (schema == 2) {
                auto blob = enc.finish(9, tl_of_hour);
                EXPECT_TRUE(blob);
                ins_chunk->bind(1, static_cast<int64_t>(s + 1))
                    .bind(2, enc.first_ts())
                    .bind(3, enc.last_ts())
                    .bind(4, static_cast<int64_t>(enc.count()))
                    .bind_blob(5, *blob);
                EXPECT_TRUE(ins_chunk->run());
                continue;
            }
            if (group.empty()) group_start = enc.first_ts(), group_end = enc.last_ts();
            group_start = std::min(group_start, enc.first_ts());
            group_end = std::max(group_end, enc.last_ts());
            group.push_back({static_cast<uint32_t>(s + 1), enc.finish_raw(tl_of_hour)});
            if (s % 2 == 1) {
                auto blob = store::encode_chunk_group(group);
                EXPECT_TRUE(blob);
                ins_chunk->bind(1, static_cast<int64_t>(s / 2 + 1))
                    .bind(2, group_start)
                    .bind(3, group_end)
                    .bind_blob(4, *blob);
                EXPECT_TRUE(ins_chunk->run());
                group.clear();
            }
        }
    }
    auto ins_head = db->prepare("INSERT INTO head VALUES(?, ?)", "head");
    for (int i = 0; i < 3; ++i) {
        int64_t ts = kT0 + 2 * kHour + i * 1000;
        auto h = hist_at(i);
        std::vector<std::pair<uint32_t, double>> values;
        for (uint32_t s = 0; s < 3; ++s) values.emplace_back(s + 1, value_at(s, i));
        std::vector<std::pair<uint32_t, const Log2Histogram*>> hists{{4, &h}};
        std::string row;
        store::encode_head_row(row, values, hists);
        ins_head->bind(1, ts).bind_blob(2, row);
        EXPECT_TRUE(ins_head->run());
        for (size_t s = 0; s < 3; ++s) want[s].values[ts] = value_at(s, i);
        want[3].hists[ts] = h;
    }
    return want;
}

std::vector<Expected> write_schema2(const test::StateDir& dir) {
    return write_old(dir, 2);
}

void expect_points(History& h, const std::vector<Expected>& want) {
    for (size_t s = 0; s < std::size(kSeries); ++s) {
        auto sel = parse_selector(std::string(kSeries[s].metric) + "{" + kSeries[s].labels + "}");
        ASSERT_TRUE(sel);
        auto res = h.query(*sel, kT0, kT0 + 3 * kHour, 0);
        ASSERT_TRUE(res) << res.error().message;
        ASSERT_EQ(res->size(), 1u) << kSeries[s].metric;
        const auto& r = res->front();
        EXPECT_EQ(r.kind, kSeries[s].kind);
        bool hist = kSeries[s].kind == MetricKind::histogram;
        ASSERT_EQ(r.points.size(), hist ? want[s].hists.size() : want[s].values.size())
            << kSeries[s].metric;
        size_t i = 0;
        if (hist) {
            ASSERT_EQ(r.hists.size(), r.points.size());
            for (const auto& [ts, hv] : want[s].hists) {
                EXPECT_EQ(r.points[i].ts_ms, ts);
                EXPECT_EQ(r.hists[i], hv) << "at " << ts;
                ++i;
            }
        } else {
            for (const auto& [ts, v] : want[s].values) {
                EXPECT_EQ(r.points[i].ts_ms, ts);
                EXPECT_EQ(r.points[i].last, v) << kSeries[s].metric << " at " << ts;
                ++i;
            }
        }
    }
}

void expect_upgraded(const test::StateDir& dir, const std::vector<Expected>& want) {
    auto h = History::open(dir.path());
    ASSERT_TRUE(h) << h.error().message;
    ASSERT_EQ(h->notes().size(), 1u);
    EXPECT_NE(h->notes()[0].find("upgraded"), std::string::npos) << h->notes()[0];
    expect_points(*h, want);
    // Two label sets, two hours: four chunk rows where schema 2 had eight; the series are
    // their label sets' members.
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks"), 4);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM metrics"), 4);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'series'"), 0);
    EXPECT_EQ(test::stored_series(dir), 4);
    EXPECT_EQ(test::db_scalar(dir, "SELECT value FROM meta WHERE key = 'schema_version'"),
              History::kSchemaVersion);
    // New intervals, of a known series and a new one, go in and come back out; and the
    // head's rows go into chunks.
    auto ids = test::intern_synthetic(*h, 2);
    test::append_synthetic(*h, ids, kT0 + 3 * kHour, kT0 + 3 * kHour + 5000);
    ASSERT_TRUE(h->flush());
    expect_points(*h, want);
    auto res = h->query(test::all_cpu(), kT0 + 3 * kHour, kT0 + 4 * kHour, 0);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->size(), 3u);  // the old cpu_pct has no points there
    EXPECT_EQ(test::stored_series(dir), 6);
    h = History::open(dir.path());
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->notes().empty());
    expect_points(*h, want);
}

TEST(StoreUpgrade, Schema2IsRegroupedWithEveryPointExact) {
    test::StateDir dir;
    auto want = write_schema2(dir);
    expect_upgraded(dir, want);
}

TEST(StoreUpgrade, Schema3SeriesBecomeLabelSetMembersWithEveryPointExact) {
    test::StateDir dir;
    auto want = write_old(dir, 3);
    expect_upgraded(dir, want);
}

// A reader that opened the upgraded file finds the writer's new series in old label sets.
TEST(StoreUpgrade, ReaderSeesSeriesAddedToAnUpgradedLabelSet) {
    test::StateDir dir;
    auto want = write_old(dir, 3);
    auto writer = History::open(dir.path());
    ASSERT_TRUE(writer) << writer.error().message;
    auto reader = History::open_existing(dir.path());
    ASSERT_TRUE(reader) << reader.error().message;
    expect_points(*reader, want);
    SeriesKey added{"rss_bytes", {{"comm", "a"}, {"pid", "1"}}};
    SeriesId id = writer->intern(added, MetricKind::level);
    EXPECT_EQ(id, 5u);
    std::vector<std::pair<SeriesId, double>> v{{id, 8192}};
    ASSERT_TRUE(writer->append(kT0 + 3 * kHour, v, {}));
    auto res = reader->query(*parse_selector(R"(rss_bytes{pid="1"})"), kT0, kT0 + 4 * kHour, 0);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(res->size(), 1u);
    EXPECT_EQ(res->front().key, added);
    ASSERT_EQ(res->front().points.size(), 1u);
    EXPECT_EQ(res->front().points[0].value, 8192);
}

TEST(StoreUpgrade, Schema1IsUpgradedThroughSchema2) {
    test::StateDir dir;
    auto want = write_schema2(dir);
    {
        auto db = store::Db::open(dir.db());
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec(R"(
            CREATE TABLE series1(id INTEGER PRIMARY KEY, metric TEXT NOT NULL,
                labels TEXT NOT NULL, kind INTEGER NOT NULL, UNIQUE(metric, labels));
            INSERT INTO series1 SELECT s.id, s.metric, l.labels, s.kind
                FROM series s JOIN labelsets l ON l.id = s.labelset;
            DROP TABLE series; DROP TABLE labelsets;
            ALTER TABLE series1 RENAME TO series;
            UPDATE meta SET value = 1 WHERE key = 'schema_version';)",
                             "make schema 1"));
    }
    expect_upgraded(dir, want);
}

// An upgrade that cannot finish leaves the database as it was.
TEST(StoreUpgrade, AFailedUpgradeChangesNothing) {
    test::StateDir dir;
    write_schema2(dir);
    {
        auto db = store::Db::open(dir.db());
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("UPDATE chunks SET blob = x'00112233' WHERE series_id = 3", "damage"));
    }
    auto h = History::open(dir.path());
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message.find("series 3"), std::string::npos) << h.error().message;
    EXPECT_EQ(test::db_scalar(dir, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks WHERE series_id = 1"), 2);
}

// A schema-3 series that names no label set stops the upgrade: schema 3 stays as it was.
TEST(StoreUpgrade, AFailedSchema3UpgradeChangesNothing) {
    test::StateDir dir;
    write_old(dir, 3);
    {
        auto db = store::Db::open(dir.db());
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("INSERT INTO series VALUES(5, 1, 9, 0)", "orphan"));
    }
    auto h = History::open(dir.path());
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message.find("label set that does not exist"), std::string::npos)
        << h.error().message;
    EXPECT_EQ(test::db_scalar(dir, "SELECT value FROM meta WHERE key = 'schema_version'"), 3);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM series"), 5);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM pragma_table_info('labelsets')"), 2);
    EXPECT_EQ(test::db_scalar(dir, "SELECT count(*) FROM chunks"), 4);
}

}  // namespace
}  // namespace perfbpf

#include "sinks/top_columns.h"

#include <gtest/gtest.h>

#include <set>

#include "model/series_extract.h"

namespace perfbpf {
namespace {

// Every column of every table resolves to a catalogue field of its row (a typo aborts in
// top_columns()), is a metric or names its object, and its ids are unique.
template <class Row>
void expect_columns_from_catalogue() {
    std::set<std::string> ids;
    for (const auto& c : top_columns<Row>()) {
        EXPECT_TRUE(ids.insert(c.def->id).second) << c.def->id;
        ASSERT_NE(c.field, nullptr);
        EXPECT_EQ(c.field->name, c.def->field);
        bool metric = metric_kind(c.field->kind).has_value();
        bool names_object =
            c.field->kind == FieldKind::identity || c.field->kind == FieldKind::label;
        EXPECT_TRUE(metric || names_object) << c.def->id << " shows " << c.field->name;
        // Only counters can be shown per second: a rate of a gauge or a level means nothing.
        if (c.def->show.per_second) {
            EXPECT_EQ(c.field->kind, FieldKind::counter) << c.def->id;
        }
        if (c.measured_by) {
            EXPECT_EQ(c.measured_by->kind, FieldKind::histogram) << c.def->id;
        }
    }
}

TEST(TopColumns, EveryColumnIsACatalogueField) {
    expect_columns_from_catalogue<ProcessSample>();
    expect_columns_from_catalogue<CgroupSample>();
    expect_columns_from_catalogue<DeviceSample>();
    expect_columns_from_catalogue<CpuSample>();
}

template <class Row>
const ResolvedColumn<Row>& column(std::string_view id) {
    for (const auto& c : top_columns<Row>())
        if (c.def->id == id) return c;
    throw std::runtime_error("no column " + std::string(id));
}

TEST(TopColumns, CellsFollowTheFieldsUnit) {
    ProcessSample p;
    p.pid = 4242;
    p.comm = "worker";
    p.cpu_pct = 12.34;
    p.offcpu_ns = 2'500'000;  // 2.5 ms
    p.read_bytes = 4 * 1024 * 1024;
    p.rss_growth_bytes = 2048;
    p.io_lat_p99_us = 800;
    const double secs = 2;
    EXPECT_EQ(column_text(column<ProcessSample>("pid"), p, secs), "4242");
    EXPECT_EQ(column_text(column<ProcessSample>("comm"), p, secs), "worker");
    EXPECT_EQ(column_text(column<ProcessSample>("cpu"), p, secs), "12.3");
    EXPECT_EQ(column_text(column<ProcessSample>("offcpu"), p, secs),
              column_text(column<ProcessSample>("offcpu"), p, 1));
    EXPECT_EQ(column_number(column<ProcessSample>("read"), p, secs), 2.0 * 1024 * 1024);
    EXPECT_EQ(column_text(column<ProcessSample>("rss_growth"), p, secs).front(), '+');
    // No completion attributed: unmeasured, not a latency.
    EXPECT_EQ(column_text(column<ProcessSample>("iolat"), p, secs), "-");
    p.io_lat_hist.add_us(800);
    EXPECT_NE(column_text(column<ProcessSample>("iolat"), p, secs), "-");

    CpuSample u;
    EXPECT_EQ(column_text(column<CpuSample>("nr_running"), u, 1), "-");
    u.nr_running_avg = 1.5;
    EXPECT_EQ(column_text(column<CpuSample>("nr_running"), u, 1), "1.50");
    DeviceSample d;
    d.avg_queue_depth = 3.25;
    EXPECT_EQ(column_text(column<DeviceSample>("qdepth"), d, 1), "3.2");
}

}  // namespace
}  // namespace perfbpf

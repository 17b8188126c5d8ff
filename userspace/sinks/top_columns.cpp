#include "sinks/top_columns.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "util/format.h"

namespace perfbpf {

namespace {

using P = ProcessSample;
using C = CgroupSample;
using D = DeviceSample;
using U = CpuSample;

// clang-format off
const TopColumnDef<P> kProcessColumns[] = {
    {"pid", "PID", "pid", 7, false, 0, nullptr, 'N', false},
    {"comm", "COMMAND", "comm", 15, true, 0, nullptr, 0, false},
    {"cpu", "CPU%", "cpu_pct", 6, false, 1, nullptr, 'P', true},
    {"runq", "RUNQ99", "runq_lat_p99_us", 7, false, 3, "sched", 'Q', true},
    {"offcpu", "OFFCPU", "offcpu_ns", 7, false, 7, "sched", 'O', true},
    {"read", "READ/s", "read_bytes", 8, false, 4, "block", 'I', true, {.per_second = true}},
    {"write", "WRITE/s", "write_bytes", 8, false, 4, "block", 'I', true, {.per_second = true}},
    {"iolat", "IOLAT99", "io_lat_p99_us", 7, false, 7, "block", 'L', true,
     {.measured_by = "io_lat_hist"}},
    {"tx", "TX/s", "tcp_tx_bytes", 8, false, 6, "net", 'T', true, {.per_second = true}},
    {"rx", "RX/s", "tcp_rx_bytes", 8, false, 6, "net", 'T', true, {.per_second = true}},
    {"retrans", "RETR", "tcp_retransmits", 5, false, 8, "net", 'X', true},
    {"rss", "RSS", "rss_bytes", 8, false, 2, nullptr, 'M', true},
    {"rss_growth", "RSS+", "rss_growth_bytes", 9, false, 5, nullptr, 'G', true,
     {.is_signed = true}},
    {"cgroup", "CGROUP", "cgroup", 12, true, 9, nullptr, 0, false,
     {.flex_max = 60, .keep_tail = true}},
};

const TopColumnDef<C> kCgroupColumns[] = {
    {"cgroup", "CGROUP", "path", 24, true, 0, nullptr, 0, false,
     {.flex_max = 70, .keep_tail = true}},
    {"procs", "PROCS", "processes", 5, false, 6, nullptr, 'N', true},
    {"cpu", "CPU%", "cpu_pct", 6, false, 1, nullptr, 'P', true},
    {"runq", "RUNQ99", "runq_lat_p99_us", 7, false, 3, "sched", 'Q', true},
    {"read", "READ/s", "read_bytes", 8, false, 4, "block", 'I', true, {.per_second = true}},
    {"write", "WRITE/s", "write_bytes", 8, false, 4, "block", 'I', true, {.per_second = true}},
    {"tx", "TX/s", "tcp_tx_bytes", 8, false, 7, "net", 'T', true, {.per_second = true}},
    {"rx", "RX/s", "tcp_rx_bytes", 8, false, 7, "net", 'T', true, {.per_second = true}},
    {"retrans", "RETR", "tcp_retransmits", 5, false, 8, "net", 'X', true},
    {"rss", "RSS", "rss_bytes", 8, false, 2, nullptr, 'M', true},
    {"rss_growth", "RSS+", "rss_growth_bytes", 9, false, 5, nullptr, 'G', true,
     {.is_signed = true}},
};

const TopColumnDef<D> kDeviceColumns[] = {
    {"device", "DEVICE", "name", 10, true, 0, nullptr, 0, false, {.flex_max = 16}},
    {"read", "READ/s", "read_bytes", 8, false, 2, nullptr, 'I', true, {.per_second = true}},
    {"write", "WRITE/s", "write_bytes", 8, false, 2, nullptr, 'I', true, {.per_second = true}},
    {"riops", "R_IO/s", "read_ios", 7, false, 3, nullptr, 0, true, {.per_second = true}},
    {"wiops", "W_IO/s", "write_ios", 7, false, 3, nullptr, 0, true, {.per_second = true}},
    {"p50", "P50", "lat_p50_us", 7, false, 5, "block", 0, true},
    {"p99", "P99", "lat_p99_us", 7, false, 1, "block", 'L', true},
    {"qdepth", "QDEPTH", "avg_queue_depth", 6, false, 4, nullptr, 0, true, {.decimals = 1}},
    {"inflight", "INFLT", "inflight_max", 5, false, 6, "block", 0, true},
    {"util", "UTIL%", "util_pct", 6, false, 1, nullptr, 'U', true},
};

const TopColumnDef<U> kCpuColumns[] = {
    {"cpu", "CPU", "cpu", 4, false, 0, nullptr, 'N', false},
    {"busy", "BUSY%", "busy_pct", 6, false, 1, nullptr, 'P', true},
    {"runq", "RUNQ99", "runq_lat_p99_us", 7, false, 1, "sched", 'Q', true},
    {"runq_wait", "RQWAIT", "runq_wait_ns", 7, false, 3, "sched", 0, true},
    {"waiting", "WAITING", "runq_avg_waiting", 7, false, 2, "sched", 0, true, {.decimals = 2}},
    {"nr_running", "NR_RUN", "nr_running_avg", 6, false, 4, nullptr, 0, true,
     {.decimals = 2, .zero_is_unmeasured = true}},
};
// clang-format on

template <class Row>
std::span<const TopColumnDef<Row>> defs();
template <>
std::span<const TopColumnDef<P>> defs<P>() {
    return kProcessColumns;
}
template <>
std::span<const TopColumnDef<C>> defs<C>() {
    return kCgroupColumns;
}
template <>
std::span<const TopColumnDef<D>> defs<D>() {
    return kDeviceColumns;
}
template <>
std::span<const TopColumnDef<U>> defs<U>() {
    return kCpuColumns;
}

template <class Row>
const Field<Row>* find_field(std::string_view name, const char* column) {
    for (const auto& f : fields<Row>())
        if (f.name == name) return &f;
    std::fprintf(stderr, "perfbpf: top column %s names %.*s, which the catalogue lacks\n", column,
                 static_cast<int>(name.size()), name.data());
    std::abort();
}

template <class Row>
bool is_numeric(const Field<Row>& f) {
    bool numeric = false;
    Row probe{};
    visit_field(f, probe, [&](const auto& v) {
        numeric = std::is_arithmetic_v<std::remove_cvref_t<decltype(v)>>;
    });
    return numeric;
}

template <class Row>
std::vector<ResolvedColumn<Row>> resolve() {
    std::vector<ResolvedColumn<Row>> out;
    for (const auto& d : defs<Row>()) {
        const Field<Row>* f = find_field<Row>(d.field, d.id);
        const Field<Row>* m =
            d.show.measured_by.empty() ? nullptr : find_field<Row>(d.show.measured_by, d.id);
        out.push_back({&d, f, m, is_numeric(*f)});
    }
    return out;
}

template <class Row>
double raw_number(const Field<Row>& f, const Row& row) {
    double out = 0;
    visit_field(f, row, [&](const auto& v) {
        if constexpr (std::is_arithmetic_v<std::remove_cvref_t<decltype(v)>>)
            out = static_cast<double>(v);
    });
    return out;
}

template <class Row>
std::string raw_text(const Field<Row>& f, const Row& row) {
    std::string out;
    visit_field(f, row, [&](const auto& v) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, std::string>) out = v;
    });
    return out;
}

template <class Row>
bool histogram_empty(const Field<Row>& f, const Row& row) {
    bool empty = true;
    visit_field(f, row, [&](const auto& v) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, Log2Histogram>)
            empty = v.empty();
    });
    return empty;
}

// A number in the field's unit, as the screen writes it.
std::string format_in_unit(double v, std::string_view unit, const CellShow& show) {
    if (show.decimals >= 0) return format_fixed(v, show.decimals);
    if (unit == "pct") return format_fixed(v, 1);
    if (unit == "us") return v == 0 ? "0" : format_us(v);
    if (unit == "ns") return v == 0 ? "0" : format_us(v / 1000);
    if (unit == "bytes") {
        if (v == 0) return "0";
        std::string s = format_bytes(v);
        return show.is_signed && v > 0 ? "+" + s : s;
    }
    if (unit == "count" || unit == "tasks" || unit == "pages") return format_count(v);
    // Identities (pid, cpu number): the integer as it is.
    return std::to_string(std::llround(v));
}

}  // namespace

std::string unit_text(double v, std::string_view unit) {
    return format_in_unit(v, unit, {});
}

template <class Row>
std::span<const ResolvedColumn<Row>> top_columns() {
    static const std::vector<ResolvedColumn<Row>> columns = resolve<Row>();
    return columns;
}

template <class Row>
double column_number(const ResolvedColumn<Row>& c, const Row& row, double interval_s) {
    if (!c.numeric) return 0;
    double v = raw_number(*c.field, row);
    if (c.def->show.per_second) v = interval_s > 0 ? v / interval_s : 0;
    return v;
}

template <class Row>
std::string column_text(const ResolvedColumn<Row>& c, const Row& row, double interval_s) {
    if (!c.numeric) return raw_text(*c.field, row);
    if (c.measured_by && histogram_empty(*c.measured_by, row)) return "-";
    double v = column_number(c, row, interval_s);
    if (c.def->show.zero_is_unmeasured && v == 0) return "-";
    return format_in_unit(v, c.field->unit, c.def->show);
}

#define PERFBPF_TOP_COLUMNS(Row)                                                        \
    template std::span<const ResolvedColumn<Row>> top_columns<Row>();                   \
    template double column_number<Row>(const ResolvedColumn<Row>&, const Row&, double); \
    template std::string column_text<Row>(const ResolvedColumn<Row>&, const Row&, double);
PERFBPF_TOP_COLUMNS(ProcessSample)
PERFBPF_TOP_COLUMNS(CgroupSample)
PERFBPF_TOP_COLUMNS(DeviceSample)
PERFBPF_TOP_COLUMNS(CpuSample)
#undef PERFBPF_TOP_COLUMNS

}  // namespace perfbpf

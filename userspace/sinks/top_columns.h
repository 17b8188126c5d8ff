// The columns of `top`'s tables. A column names the catalogue field it shows; its number
// is read through the catalogue's member pointer and its cell is formatted from the
// field's unit and kind, so the screen cannot show a field under another name, a stale
// unit, or a number the JSON, the history and /metrics do not have. What a column adds
// is only what the screen needs: a short title, a width, when it is dropped on a narrow
// terminal, its sort key, and how to show its number (per second, signed, decimals).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "model/catalogue.h"

namespace perfbpf {

// How a cell shows its field beyond what the unit says.
struct CellShow {
    bool per_second = false;          // a counter divided by the interval
    bool is_signed = false;           // "+" in front of growth
    int decimals = -1;                // >= 0: a plain number with this many decimals
    bool zero_is_unmeasured = false;  // 0 means "not sampled": shown as "-"
    // A histogram field of the row: empty means nothing was measured, shown as "-" rather
    // than a latency of 0.
    std::string_view measured_by = {};
    size_t flex_max = 0;     // > width: takes spare width up to this
    bool keep_tail = false;  // truncate from the left (paths)
};

template <class Row>
struct TopColumnDef {
    const char* id;
    const char* title;
    std::string_view field;  // the catalogue's field of Row
    size_t width;
    bool left_align;
    // When the screen is narrow, columns with the highest rank go first (rightmost first
    // among equals); rank 0 is never dropped, nor is the sorted column.
    int drop_rank;
    // The probe family the numbers come from; its cells show "-" when no probe of that
    // family is attached, so a missing probe never reads as a quiet system.
    const char* family;
    char sort_key;    // the key that sorts by it (0: only through < and >)
    bool descending;  // direction when first chosen: numbers high first, names A-Z
    CellShow show = {};
};

// A column with its catalogue fields looked up.
template <class Row>
struct ResolvedColumn {
    const TopColumnDef<Row>* def;
    const Field<Row>* field;
    const Field<Row>* measured_by;  // null when the column has none
    bool numeric;                   // false: a text field, sorted as text
};

// The columns of each row type's table, resolved once. A column naming a field its row's
// catalogue lacks is a programming error: it aborts with the column and field names
// (tests/unit/top_columns_test.cpp resolves every table).
template <class Row>
std::span<const ResolvedColumn<Row>> top_columns();

// The column's number for sorting (per second when the column shows it so); 0 for text.
template <class Row>
double column_number(const ResolvedColumn<Row>& c, const Row& row, double interval_s);
// A number of a field in `unit` ("bytes", "us", "pct", ...) as the screen writes it.
std::string unit_text(double v, std::string_view unit);

// The column's cell text.
template <class Row>
std::string column_text(const ResolvedColumn<Row>& c, const Row& row, double interval_s);

}  // namespace perfbpf

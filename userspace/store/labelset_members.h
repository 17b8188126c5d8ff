// The series of one label set, kept in its labelsets row (schema 4) instead of a series
// row each: a row and a unique-index entry per series were ~27 bytes, 0.16 B/sample on a
// host whose processes come and go (every process that reaches a top list makes ~24
// series); a member is ~3 bytes. A member is the varint of its id's step from the previous
// member's (ids only grow, so a label set's list is appended to), then the varint of its
// metric id shifted left by 3, or'ed with its kind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/series.h"
#include "util/result.h"

namespace perfbpf::store {

struct LabelsetMember {
    uint32_t series_id;
    int64_t metric_id;
    MetricKind kind;
};

// Appends `m` to a list whose last member's id is `last_id` (0: none), which must be
// below m.series_id.
void put_member(std::string& out, uint32_t last_id, const LabelsetMember& m);
Result<std::vector<LabelsetMember>> decode_members(std::string_view blob);

// FNV-1a of a label set's text, what the labelsets table is indexed by: an index of the
// text itself repeated each label set's ~80 bytes.
int64_t labels_hash(std::string_view labels);

}  // namespace perfbpf::store

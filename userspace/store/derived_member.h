// A chunk group member whose every value is a function of a histogram member of the same
// group, stored as a reference to it: a process's `runq_waits` is its `runq_hist`'s count
// and its `runq_lat_p99_us` the histogram's p99, ~1 byte a point together on a busy host
// for what the histogram already holds. Found when the group is written by comparing every
// point after the member's own rounding, so a member that differs anywhere (another
// percentile method, a count kept apart) is stored as it is. The p99 here is a frozen copy
// of Log2Histogram::percentile_us's as of schema 4, so a later change there cannot change
// what stored chunks decode to.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/histogram.h"
#include "store/chunk_codec.h"
#include "util/result.h"

namespace perfbpf::store {

enum class Derivation : uint8_t { count = 1, p99 = 2 };

// f of one histogram, rounded as a column of `decimals` (stored_decimals) stores it.
double derive(const Log2Histogram& h, Derivation f, int decimals);

// Replaces each member that is a function of a histogram member of the group (both there
// once) by a reference to it. decimals_of(series id): what its values were rounded to.
void derive_members(std::vector<ChunkGroupMember>& members,
                    const std::function<int(uint32_t)>& decimals_of,
                    const TimelineLookup& timelines);

// A member's points, resolving a reference against the group.
Result<ChunkPoints> decode_group_member(const ChunkGroup& group, const ChunkGroup::Entry& e,
                                        const TimelineLookup& timelines);

}  // namespace perfbpf::store

// A chunk is the points of one series in one tier over one span, encoded for size:
// timestamps as delta-of-delta zigzag varints (regular intervals cost one zero byte);
// each value column, when every value is an integer, as zigzag varints of its deltas or of
// its values (the shorter), divided by their gcd, else XOR bit-packed as in Gorilla;
// histogram slots sparse, against the previous point or on their own (the shorter), or
// slot by slot over the points (when that compresses better); zstd over it all.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/histogram.h"
#include "util/result.h"

namespace perfbpf::store {

// What stored_decimals() says of a metric whose values are kept exactly.
inline constexpr int kAllDecimals = -1;

// Decoded points: columns[c][i] is column c of point i; hists is empty or one per point.
struct ChunkPoints {
    std::vector<int64_t> ts;
    std::vector<std::vector<double>> columns;
    std::vector<Log2Histogram> hists;
};

// Bits written most significant first into bytes.
class BitWriter {
  public:
    void put(uint64_t value, unsigned nbits);
    const std::string& bytes() const { return bytes_; }

  private:
    std::string bytes_;
    unsigned used_ = 8;  // bits used in the last byte
};

// One value column, encoded both ways as points arrive (so a chunk is never held twice
// in memory as doubles); finish() keeps the integer form when it stayed valid.
class ValueColumnEncoder {
  public:
    // decimals in [-9, 9]: values are rounded to that many decimal places (-3: to
    // thousands) and, when all are then integers at that scale, stored as such (see
    // stored_decimals()); anything else (kAllDecimals) keeps them exactly.
    explicit ValueColumnEncoder(int decimals = kAllDecimals);
    void add(double v);
    // mode byte, varint length, payload
    void finish(std::string& out) const;

  private:
    int decimals_ = kAllDecimals;
    double scale_ = 1;  // 10^|decimals_|
    bool all_int_ = true;
    int64_t prev_int_ = 0;
    std::string ints_;
    BitWriter xor_;
    uint64_t prev_bits_ = 0;
    int prev_lead_ = -1;
    int prev_trail_ = 0;
    size_t count_ = 0;
};

class ChunkEncoder {
  public:
    // decimals: as ValueColumnEncoder's, for every column.
    ChunkEncoder(size_t columns, bool hists, int decimals = kAllDecimals);
    // values.size() must equal the column count; hist non-null iff the chunk has hists.
    void add(int64_t ts_ms, std::span<const double> values, const Log2Histogram* hist);
    size_t count() const { return count_; }
    int64_t first_ts() const { return first_ts_; }
    int64_t last_ts() const { return prev_ts_; }
    // The zstd-compressed blob. With a timeline (sorted; the timestamps of every interval
    // the chunk's span saw, stored once for all series by the caller) that holds each of
    // the chunk's timestamps, the chunk names the timeline and which of its intervals it
    // has instead of carrying the timestamps: the collector's wake-up jitter made them
    // ~1 byte a point in every series, more than the values of most.
    Result<std::string> finish(int zstd_level = 9,
                               const std::vector<int64_t>* timeline = nullptr) const;
    // The same before zstd: what a chunk group (below) holds per series.
    std::string finish_raw(const std::vector<int64_t>* timeline = nullptr) const;

  private:
    size_t count_ = 0;
    int64_t first_ts_ = 0;
    int64_t prev_ts_ = 0;
    int64_t prev_delta_ = 0;
    std::string ts_;
    std::vector<ValueColumnEncoder> columns_;
    bool has_hists_;
    std::string hists_;        // slot deltas against the previous point
    std::string hist_values_;  // slots against empty; finish() keeps the shorter
    Log2Histogram prev_hist_;
};

// A timeline by its first timestamp (nullptr: none such).
using TimelineLookup = std::function<const std::vector<int64_t>*(int64_t first_ts)>;

// A chunk written against a timeline needs `timelines` to decode.
Result<ChunkPoints> decode_chunk(std::string_view blob, const TimelineLookup& timelines = {});
// A chunk as finish_raw made it (not compressed).
Result<ChunkPoints> decode_raw_chunk(std::string_view raw, const TimelineLookup& timelines = {});

// The chunks of one label set's series over one span, compressed together: a short-lived
// process's counter that stayed zero cost ~34 bytes as a chunk of its own (zstd's frame,
// the timeline reference, the row and its index entries), and 15,750 of a host's 20,327
// hourly chunks were such. In a group the members' repeated headers compress away.
struct ChunkGroupMember {
    uint32_t series_id;
    std::string raw;  // ChunkEncoder::finish_raw
};
Result<std::string> encode_chunk_group(std::span<const ChunkGroupMember> members,
                                       int zstd_level = 9);
// The decompressed group: members in the order written (a series may appear more than
// once, its chunks in time order).
struct ChunkGroup {
    struct Entry {
        uint32_t series_id;
        size_t offset, size;  // into raw
    };
    std::string raw;
    std::vector<Entry> entries;
    std::string_view member(const Entry& e) const {
        return std::string_view(raw).substr(e.offset, e.size);
    }
};
Result<ChunkGroup> decode_chunk_group(std::string_view blob);
// zstd of a blob whose content size is recorded (every chunk and group is).
Result<std::string> decompress_blob(std::string_view blob, const char* what);

// A timeline's blob: a chunk of timestamps only.
Result<std::string> encode_timeline(std::span<const int64_t> ts);
Result<std::vector<int64_t>> decode_timeline(std::string_view blob);

// Sparse slot deltas against `prev` (a varint mask of changed slots, then zigzag deltas):
// shared by chunks and head rows.
void put_hist_delta(std::string& out, const Log2Histogram& h, const Log2Histogram& prev);
bool get_hist_delta(std::string_view& in, const Log2Histogram& prev, Log2Histogram& h);

}  // namespace perfbpf::store

// A chunk is the points of one series in one tier over one span, encoded for size:
// timestamps as delta-of-delta zigzag varints (regular intervals cost one zero byte);
// each value column, when every value is an integer, as zigzag varints of its deltas or of
// its values (the shorter), divided by their gcd, else XOR bit-packed as in Gorilla;
// histogram slots sparse, against the previous point or on their own (the shorter); zstd
// over it all.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/histogram.h"
#include "util/result.h"

namespace perfbpf::store {

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
    void add(double v);
    // mode byte, varint length, payload
    void finish(std::string& out) const;

  private:
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
    ChunkEncoder(size_t columns, bool hists);
    // values.size() must equal the column count; hist non-null iff the chunk has hists.
    void add(int64_t ts_ms, std::span<const double> values, const Log2Histogram* hist);
    size_t count() const { return count_; }
    int64_t first_ts() const { return first_ts_; }
    int64_t last_ts() const { return prev_ts_; }
    // The zstd-compressed blob.
    Result<std::string> finish(int zstd_level = 9) const;

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

Result<ChunkPoints> decode_chunk(std::string_view blob);

// Sparse slot deltas against `prev` (a varint mask of changed slots, then zigzag deltas):
// shared by chunks and head rows.
void put_hist_delta(std::string& out, const Log2Histogram& h, const Log2Histogram& prev);
bool get_hist_delta(std::string_view& in, const Log2Histogram& prev, Log2Histogram& h);

}  // namespace perfbpf::store

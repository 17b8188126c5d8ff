#include "store/chunk_codec.h"

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

#include "store/varint.h"

namespace perfbpf::store {
namespace {

constexpr uint8_t kVersion = 1;          // timestamps in the chunk
constexpr uint8_t kVersionTimeline = 2;  // which intervals of a timeline the chunk has
constexpr uint8_t kVersionGroup = 3;     // a label set's chunks of one span (ChunkGroup)
// Integer columns are zigzag varints of deltas or of the values themselves, whichever is
// shorter (deltas win on counters that move slowly, values on noisy ones), each divided by
// the gcd of what it encodes (byte counts move in pages and sectors).
constexpr uint8_t kModeIntDelta = 0;
constexpr uint8_t kModeXor = 1;
constexpr uint8_t kModeIntValue = 2;
// Or'ed into an integer mode: the integers are values times 10^d, d in the next byte.
constexpr uint8_t kModeScaled = 8;
constexpr int kMaxDecimals = 9;

double pow10(int d) {
    double p = 1;
    for (int i = 0; i < d; ++i) p *= 10;
    return p;
}
constexpr uint8_t kHistDelta = 0;  // slot deltas against the previous point (cumulative-ish)
constexpr uint8_t kHistValue = 1;  // slots on their own (interval histograms, often empty)
// Slot by slot: a mask of the slots any point uses, a mask of those stored as deltas, then
// each such slot's counts over the points. Longer before zstd than the sparse forms, but a
// slot's counts keep to one magnitude, so zstd makes a busy process's run-queue histogram
// ~8 % smaller this way; finish_raw keeps whichever compresses better.
constexpr uint8_t kHistSlots = 2;

// Delta-of-delta zigzag varints back to timestamps; false when short.
bool get_timestamps(std::string_view in, uint64_t count, std::vector<int64_t>& out) {
    out.reserve(count);
    int64_t prev = 0, delta = 0;
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t z = 0;
        if (!get_varint(in, z)) return false;
        if (i == 0) {
            prev = unzigzag(z);
        } else {
            delta += unzigzag(z);
            prev += delta;
        }
        out.push_back(prev);
    }
    return true;
}

// The chunk's timestamps as positions in `timeline`: its first timestamp (naming it), the
// first position, then run lengths, alternately present and absent. False when a
// timestamp is not in the timeline.
bool put_presence(std::string& out, const std::vector<int64_t>& ts,
                  const std::vector<int64_t>& timeline) {
    auto it = std::lower_bound(timeline.begin(), timeline.end(), ts.front());
    std::vector<uint64_t> runs;
    size_t pos = static_cast<size_t>(it - timeline.begin()), first = pos;
    uint64_t run = 0;
    for (int64_t t : ts) {
        size_t skip = 0;
        while (pos < timeline.size() && timeline[pos] < t) ++pos, ++skip;
        if (pos == timeline.size() || timeline[pos] != t) return false;
        if (skip > 0 && run > 0) {
            runs.push_back(run);
            runs.push_back(skip);
            run = 0;
        }
        ++run;
        ++pos;
    }
    runs.push_back(run);
    put_varint(out, zigzag(timeline.front()));
    put_varint(out, first);
    put_varint(out, runs.size());
    for (uint64_t r : runs) put_varint(out, r);
    return true;
}

bool get_presence(std::string_view& in, uint64_t count, const TimelineLookup& timelines,
                  std::vector<int64_t>& out, std::string& why) {
    uint64_t key = 0, pos = 0, nruns = 0;
    if (!get_varint(in, key) || !get_varint(in, pos) || !get_varint(in, nruns) ||
        nruns > 2 * count) {
        why = "chunk: bad timeline reference";
        return false;
    }
    const std::vector<int64_t>* timeline = timelines ? timelines(unzigzag(key)) : nullptr;
    if (!timeline) {
        why = "chunk: its timeline (" + std::to_string(unzigzag(key)) + ") is missing";
        return false;
    }
    out.reserve(count);
    for (uint64_t r = 0; r < nruns; ++r) {
        uint64_t len = 0;
        if (!get_varint(in, len) || len > timeline->size() - std::min(pos, timeline->size())) {
            why = "chunk: timeline run out of range";
            return false;
        }
        if (r % 2 == 0)
            for (uint64_t i = 0; i < len && out.size() < count; ++i)
                out.push_back((*timeline)[pos + i]);
        pos += len;
    }
    if (out.size() != count) {
        why = "chunk: timeline runs hold " + std::to_string(out.size()) + " of " +
              std::to_string(count) + " points";
        return false;
    }
    return true;
}

class BitReader {
  public:
    explicit BitReader(std::string_view bytes) : bytes_(bytes) {}
    bool get(unsigned nbits, uint64_t& out) {
        out = 0;
        for (unsigned i = 0; i < nbits; ++i) {
            if (pos_ >= bytes_.size() * 8) return false;
            auto byte = static_cast<uint8_t>(bytes_[pos_ / 8]);
            out = (out << 1) | ((byte >> (7 - pos_ % 8)) & 1);
            ++pos_;
        }
        return true;
    }

  private:
    std::string_view bytes_;
    size_t pos_ = 0;
};

Result<std::vector<double>> decode_column(std::string_view& in, size_t n) {
    if (in.empty()) return fail("chunk: truncated column");
    uint8_t mode = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    int decimals = 0;  // values are integers / 10^decimals
    if (mode & kModeScaled) {
        decimals = in.empty() ? kMaxDecimals + 1 : static_cast<int8_t>(in.front());
        if (decimals > kMaxDecimals || decimals < -kMaxDecimals)
            return fail("chunk: bad column scale");
        in.remove_prefix(1);
        mode &= ~kModeScaled;
        if (mode != kModeIntDelta && mode != kModeIntValue)
            return fail("chunk: scaled column that is not integral");
    }
    uint64_t len = 0;
    if (!get_varint(in, len) || len > in.size()) return fail("chunk: bad column length");
    std::string_view payload = in.substr(0, len);
    in.remove_prefix(len);
    std::vector<double> out;
    out.reserve(n);
    const double scale = pow10(decimals < 0 ? -decimals : decimals);
    if (mode == kModeIntDelta || mode == kModeIntValue) {
        uint64_t gcd = 0;
        if (!get_varint(payload, gcd) || gcd == 0) return fail("chunk: bad integer column scale");
        int64_t prev = 0;
        for (size_t i = 0; i < n; ++i) {
            uint64_t z = 0;
            if (!get_varint(payload, z)) return fail("chunk: truncated integer column");
            int64_t v = unzigzag(z) * static_cast<int64_t>(gcd);
            prev = mode == kModeIntDelta ? prev + v : v;
            out.push_back(decimals >= 0 ? static_cast<double>(prev) / scale
                                        : static_cast<double>(prev) * scale);
        }
        return out;
    }
    if (mode != kModeXor) return fail("chunk: unknown column mode " + std::to_string(mode));
    BitReader bits(payload);
    uint64_t prev = 0;
    unsigned lead = 0, sig = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t v = 0;
        if (i == 0) {
            if (!bits.get(64, v)) return fail("chunk: truncated xor column");
            prev = v;
        } else {
            uint64_t flag = 0, fresh = 0, x = 0;
            if (!bits.get(1, flag)) return fail("chunk: truncated xor column");
            if (flag) {
                if (!bits.get(1, fresh)) return fail("chunk: truncated xor column");
                if (fresh) {
                    uint64_t l = 0, s = 0;
                    if (!bits.get(5, l) || !bits.get(6, s))
                        return fail("chunk: truncated xor column");
                    lead = static_cast<unsigned>(l);
                    sig = static_cast<unsigned>(s) + 1;
                    if (lead + sig > 64) return fail("chunk: bad xor window");
                } else if (sig == 0) {
                    return fail("chunk: xor window used before set");
                }
                if (!bits.get(sig, x)) return fail("chunk: truncated xor column");
                prev ^= x << (64 - lead - sig);
            }
        }
        out.push_back(std::bit_cast<double>(prev));
    }
    return out;
}

}  // namespace

void BitWriter::put(uint64_t value, unsigned nbits) {
    while (nbits > 0) {
        if (used_ == 8) {
            bytes_.push_back(0);
            used_ = 0;
        }
        unsigned take = std::min(nbits, 8 - used_);
        uint64_t chunk = (value >> (nbits - take)) & ((1u << take) - 1);
        bytes_.back() =
            static_cast<char>(static_cast<uint8_t>(bytes_.back()) | (chunk << (8 - used_ - take)));
        used_ += take;
        nbits -= take;
    }
}

ValueColumnEncoder::ValueColumnEncoder(int decimals)
    : decimals_(decimals < -kMaxDecimals ? kAllDecimals : std::min(decimals, kMaxDecimals)),
      scale_(decimals_ == kAllDecimals ? 1 : pow10(decimals_ < 0 ? -decimals_ : decimals_)) {}

void ValueColumnEncoder::add(double v) {
    const bool rounds = decimals_ != kAllDecimals;
    // The integer form: v * 10^decimals (divided by 10^-decimals when negative).
    const double scaled = decimals_ >= 0 ? v * scale_ : v / scale_;
    if (rounds && std::isfinite(v) && std::fabs(scaled) <= kMaxExactInteger) {
        double q = std::nearbyint(scaled);
        v = q == 0 ? 0.0 : decimals_ >= 0 ? q / scale_ : q * scale_;
        if (all_int_) {
            auto i = static_cast<int64_t>(q);
            put_varint(ints_, zigzag(i - prev_int_));
            prev_int_ = i;
        }
    } else if (all_int_ && !rounds && exact_integer(v)) {
        auto i = static_cast<int64_t>(v);
        put_varint(ints_, zigzag(i - prev_int_));
        prev_int_ = i;
    } else if (all_int_) {
        all_int_ = false;
        ints_.clear();
        ints_.shrink_to_fit();
    }
    uint64_t bits = std::bit_cast<uint64_t>(v);
    if (count_ == 0) {
        xor_.put(bits, 64);
    } else {
        uint64_t x = bits ^ prev_bits_;
        if (x == 0) {
            xor_.put(0, 1);
        } else {
            int lead = std::min(std::countl_zero(x), 31);
            int trail = std::countr_zero(x);
            if (prev_lead_ >= 0 && lead >= prev_lead_ && trail >= prev_trail_) {
                int sig = 64 - prev_lead_ - prev_trail_;
                xor_.put(0b10, 2);
                xor_.put(x >> prev_trail_, static_cast<unsigned>(sig));
            } else {
                int sig = 64 - lead - trail;
                xor_.put(0b11, 2);
                xor_.put(static_cast<uint64_t>(lead), 5);
                xor_.put(static_cast<uint64_t>(sig - 1), 6);
                xor_.put(x >> trail, static_cast<unsigned>(sig));
                prev_lead_ = lead;
                prev_trail_ = trail;
            }
        }
    }
    prev_bits_ = bits;
    ++count_;
}

void ValueColumnEncoder::finish(std::string& out) const {
    if (!all_int_) {
        out.push_back(static_cast<char>(kModeXor));
        put_varint(out, xor_.bytes().size());
        out += xor_.bytes();
        return;
    }
    std::vector<int64_t> values;
    values.reserve(count_);
    std::string_view in(ints_);
    int64_t prev = 0;
    for (uint64_t z = 0; get_varint(in, z);) values.push_back(prev += unzigzag(z));
    uint64_t gcd_delta = 0, gcd_value = 0;
    prev = 0;
    for (int64_t v : values) {
        gcd_delta = std::gcd(gcd_delta, static_cast<uint64_t>(v > prev ? v - prev : prev - v));
        gcd_value = std::gcd(gcd_value, static_cast<uint64_t>(v < 0 ? -v : v));
        prev = v;
    }
    auto encode = [&](bool delta, uint64_t gcd) {
        gcd = gcd ? gcd : 1;
        std::string payload;
        put_varint(payload, gcd);
        int64_t last = 0;
        for (int64_t v : values) {
            put_varint(payload, zigzag((delta ? v - last : v) / static_cast<int64_t>(gcd)));
            last = v;
        }
        return payload;
    };
    std::string by_delta = encode(true, gcd_delta), by_value = encode(false, gcd_value);
    bool delta = by_delta.size() <= by_value.size();
    const std::string& payload = delta ? by_delta : by_value;
    uint8_t mode = delta ? kModeIntDelta : kModeIntValue;
    if (decimals_ != kAllDecimals && decimals_ != 0) {
        out.push_back(static_cast<char>(mode | kModeScaled));
        out.push_back(static_cast<char>(static_cast<int8_t>(decimals_)));
    } else {
        out.push_back(static_cast<char>(mode));
    }
    put_varint(out, payload.size());
    out += payload;
}

void put_hist_delta(std::string& out, const Log2Histogram& h, const Log2Histogram& prev) {
    uint64_t mask = 0;
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i)
        if (h.slot(i) != prev.slot(i)) mask |= uint64_t{1} << i;
    put_varint(out, mask);
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i)
        if (mask & (uint64_t{1} << i))
            put_varint(out, zigzag(static_cast<int64_t>(h.slot(i) - prev.slot(i))));
}

bool get_hist_delta(std::string_view& in, const Log2Histogram& prev, Log2Histogram& h) {
    uint64_t mask = 0;
    if (!get_varint(in, mask) || mask >> Log2Histogram::kSlots) return false;
    h = Log2Histogram{};
    for (size_t i = 0; i < Log2Histogram::kSlots; ++i) {
        uint64_t v = prev.slot(i);
        if (mask & (uint64_t{1} << i)) {
            uint64_t z = 0;
            if (!get_varint(in, z)) return false;
            v += static_cast<uint64_t>(unzigzag(z));  // wraps back to the unsigned count
        }
        h.add_slot(i, v);
    }
    return true;
}

ChunkEncoder::ChunkEncoder(size_t columns, bool hists, int decimals)
    : columns_(columns, ValueColumnEncoder(decimals)), has_hists_(hists) {}

void ChunkEncoder::add(int64_t ts_ms, std::span<const double> values, const Log2Histogram* hist) {
    if (count_ == 0) {
        first_ts_ = ts_ms;
        put_varint(ts_, zigzag(ts_ms));
    } else {
        int64_t delta = ts_ms - prev_ts_;
        put_varint(ts_, zigzag(delta - prev_delta_));
        prev_delta_ = delta;
    }
    prev_ts_ = ts_ms;
    for (size_t c = 0; c < columns_.size() && c < values.size(); ++c) columns_[c].add(values[c]);
    if (has_hists_) {
        static const Log2Histogram kEmpty;
        const Log2Histogram& h = hist ? *hist : kEmpty;
        put_hist_delta(hists_, h, prev_hist_);
        put_hist_delta(hist_values_, h, kEmpty);
        prev_hist_ = h;
    }
    ++count_;
}

namespace {

Result<std::string> compress(const std::string& raw, int zstd_level, const char* what) {
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), zstd_level);
    if (ZSTD_isError(n)) return fail(std::string(what) + ": zstd: " + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

}  // namespace

namespace {

// kHistSlots from the sparse per-point form (kHistValue); empty when that is damaged.
std::string hist_slots(std::string_view sparse, size_t count) {
    static const Log2Histogram kEmpty;
    std::vector<std::vector<uint64_t>> slots(Log2Histogram::kSlots);
    uint64_t used = 0;
    for (size_t i = 0; i < count; ++i) {
        Log2Histogram h;
        if (!get_hist_delta(sparse, kEmpty, h)) return {};
        for (size_t s = 0; s < Log2Histogram::kSlots; ++s) {
            if (h.slot(s) == 0 && slots[s].empty()) continue;
            slots[s].resize(i, 0);
            slots[s].push_back(h.slot(s));
            used |= uint64_t{1} << s;
        }
    }
    // Histograms that stayed empty: the sparse form's byte a point keeps decode_raw_chunk's
    // check that a point costs at least a bit.
    if (used == 0) return {};
    std::string out(1, static_cast<char>(kHistSlots)), columns;
    uint64_t deltas = 0;
    for (size_t s = 0; s < Log2Histogram::kSlots; ++s) {
        if (!(used >> s & 1)) continue;
        slots[s].resize(count, 0);
        std::string by_delta, by_value;
        uint64_t prev = 0;
        for (uint64_t v : slots[s]) {
            put_varint(by_delta, zigzag(static_cast<int64_t>(v - prev)));
            put_varint(by_value, v);
            prev = v;
        }
        if (by_delta.size() < by_value.size()) deltas |= uint64_t{1} << s;
        columns += by_delta.size() < by_value.size() ? by_delta : by_value;
    }
    put_varint(out, used);
    put_varint(out, deltas);
    return out + columns;
}

size_t compressed_size(const std::string& raw) {
    auto z = compress(raw, 3, "histogram section");
    return z ? z->size() : raw.size();
}

}  // namespace

Result<std::string> ChunkEncoder::finish(int zstd_level,
                                         const std::vector<int64_t>* timeline) const {
    return compress(finish_raw(timeline), zstd_level, "chunk");
}

std::string ChunkEncoder::finish_raw(const std::vector<int64_t>* timeline) const {
    std::string presence;
    if (timeline && !timeline->empty() && count_ > 0) {
        std::vector<int64_t> ts;
        if (!get_timestamps(ts_, count_, ts) || !put_presence(presence, ts, *timeline))
            presence.clear();
    }
    std::string raw;
    raw.push_back(static_cast<char>(presence.empty() ? kVersion : kVersionTimeline));
    put_varint(raw, count_);
    put_varint(raw, columns_.size());
    raw.push_back(static_cast<char>(has_hists_));
    if (presence.empty()) {
        put_varint(raw, ts_.size());
        raw += ts_;
    } else {
        raw += presence;
    }
    for (const auto& c : columns_) c.finish(raw);
    if (has_hists_) {
        bool delta = hists_.size() <= hist_values_.size();
        std::string sparse(1, static_cast<char>(delta ? kHistDelta : kHistValue));
        sparse += delta ? hists_ : hist_values_;
        std::string slots = hist_slots(hist_values_, count_);
        raw += !slots.empty() && compressed_size(slots) < compressed_size(sparse) ? slots : sparse;
    }
    return raw;
}

Result<std::string> decompress_blob(std::string_view blob, const char* what) {
    unsigned long long size = ZSTD_getFrameContentSize(blob.data(), blob.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1u << 30))
        return fail(std::string(what) + ": not a zstd frame with a known size");
    std::string raw(size, '\0');
    size_t n = ZSTD_decompress(raw.data(), raw.size(), blob.data(), blob.size());
    if (ZSTD_isError(n) || n != size)
        return fail(std::string(what) +
                    ": zstd: " + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
    return raw;
}

Result<ChunkPoints> decode_chunk(std::string_view blob, const TimelineLookup& timelines) {
    auto raw = decompress_blob(blob, "chunk");
    if (!raw) return std::unexpected(raw.error());
    return decode_raw_chunk(*raw, timelines);
}

Result<std::string> encode_chunk_group(std::span<const ChunkGroupMember> members, int zstd_level) {
    std::string raw;
    raw.push_back(static_cast<char>(kVersionGroup));
    put_varint(raw, members.size());
    int64_t prev = 0;
    for (const auto& m : members) {
        put_varint(raw, zigzag(int64_t{m.series_id} - prev));
        prev = m.series_id;
        put_varint(raw, m.raw.size());
        raw += m.raw;
    }
    return compress(raw, zstd_level, "chunk group");
}

Result<ChunkGroup> decode_chunk_group(std::string_view blob) {
    auto raw = decompress_blob(blob, "chunk group");
    if (!raw) return std::unexpected(raw.error());
    ChunkGroup g;
    g.raw = std::move(*raw);
    std::string_view in(g.raw);
    uint64_t n = 0;
    if (in.empty() || static_cast<uint8_t>(in.front()) != kVersionGroup)
        return fail("chunk group: unknown version " +
                    std::to_string(in.empty() ? 0 : static_cast<uint8_t>(in.front())));
    in.remove_prefix(1);
    if (!get_varint(in, n) || n > in.size()) return fail("chunk group: bad member count");
    g.entries.reserve(n);
    int64_t id = 0;
    for (uint64_t i = 0; i < n; ++i) {
        uint64_t delta = 0, size = 0;
        if (!get_varint(in, delta) || !get_varint(in, size) || size > in.size())
            return fail("chunk group: member " + std::to_string(i) + " truncated");
        id += unzigzag(delta);
        if (id <= 0 || id > int64_t{UINT32_MAX})
            return fail("chunk group: bad series id " + std::to_string(id));
        g.entries.push_back(ChunkGroup::Entry{static_cast<uint32_t>(id),
                                              static_cast<size_t>(in.data() - g.raw.data()),
                                              static_cast<size_t>(size)});
        in.remove_prefix(size);
    }
    if (!in.empty()) return fail("chunk group: trailing bytes");
    return g;
}

Result<ChunkPoints> decode_raw_chunk(std::string_view raw, const TimelineLookup& timelines) {
    std::string_view in(raw);
    uint8_t version = in.empty() ? 0 : static_cast<uint8_t>(in.front());
    if (version != kVersion && version != kVersionTimeline)
        return fail("chunk: unknown version " + std::to_string(version));
    in.remove_prefix(1);
    uint64_t count = 0, ncols = 0, ts_len = 0;
    if (!get_varint(in, count) || !get_varint(in, ncols) || in.empty() || count > raw.size() * 8 ||
        ncols > 16)
        return fail("chunk: bad header");
    bool has_hists = in.front() != 0;
    in.remove_prefix(1);
    ChunkPoints out;
    if (version == kVersionTimeline) {
        std::string why;
        if (!get_presence(in, count, timelines, out.ts, why)) return fail(why);
    } else {
        if (!get_varint(in, ts_len) || ts_len > in.size())
            return fail("chunk: bad timestamp length");
        if (!get_timestamps(in.substr(0, ts_len), count, out.ts))
            return fail("chunk: truncated timestamps");
        in.remove_prefix(ts_len);
    }
    for (uint64_t c = 0; c < ncols; ++c) {
        auto col = decode_column(in, count);
        if (!col) return std::unexpected(col.error());
        out.columns.push_back(std::move(*col));
    }
    if (has_hists) {
        if (in.empty()) return fail("chunk: truncated histograms");
        const auto mode = static_cast<uint8_t>(in.front());
        bool delta = mode == kHistDelta;
        in.remove_prefix(1);
        out.hists.resize(count);
        if (mode == kHistSlots) {
            uint64_t used = 0, deltas = 0;
            if (!get_varint(in, used) || !get_varint(in, deltas) || used == 0 ||
                used >> Log2Histogram::kSlots || deltas & ~used)
                return fail("chunk: bad histogram slot masks");
            for (size_t s = 0; s < Log2Histogram::kSlots; ++s) {
                if (!(used >> s & 1)) continue;
                uint64_t prev = 0;
                for (uint64_t i = 0; i < count; ++i) {
                    uint64_t z = 0;
                    if (!get_varint(in, z)) return fail("chunk: truncated histogram slots");
                    prev = deltas >> s & 1 ? prev + static_cast<uint64_t>(unzigzag(z)) : z;
                    out.hists[i].add_slot(s, prev);
                }
            }
            return out;
        }
        if (mode != kHistDelta && mode != kHistValue)
            return fail("chunk: unknown histogram mode " + std::to_string(mode));
        static const Log2Histogram kEmpty;
        Log2Histogram prev_hist;
        for (uint64_t i = 0; i < count; ++i) {
            if (!get_hist_delta(in, delta ? prev_hist : kEmpty, out.hists[i]))
                return fail("chunk: truncated histograms");
            prev_hist = out.hists[i];
        }
    }
    return out;
}

Result<std::string> encode_timeline(std::span<const int64_t> ts) {
    ChunkEncoder enc(0, false);
    for (int64_t t : ts) enc.add(t, {}, nullptr);
    return enc.finish();
}

Result<std::vector<int64_t>> decode_timeline(std::string_view blob) {
    auto points = decode_chunk(blob);
    if (!points) return std::unexpected(points.error());
    if (!points->columns.empty() || !points->hists.empty())
        return fail("timeline: holds values, not only timestamps");
    return std::move(points->ts);
}

}  // namespace perfbpf::store

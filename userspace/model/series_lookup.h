// Lookups of series in maps keyed by SeriesKey, done for every series every interval.
//
// SeriesHints: where each position of the previous interval's series was found in a map keyed by
// SeriesKey. The daemon hands its consumers (history, exposition, anomaly scoring) the
// same series in the same order interval after interval: checking that the entry found at
// this position last time still has this key costs one key comparison, where a lookup
// hashes or compares every string of the key several times (the lookups were a fifth of the
// daemon's CPU at 0.1 s with ~1,500 series).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "model/series.h"

namespace perfbpf {

// Hashes the parts, so a lookup builds no text of the key.
struct SeriesKeyHash {
    size_t operator()(const SeriesKey& k) const {
        size_t h = std::hash<std::string_view>{}(k.metric);
        for (const auto& [name, value] : k.labels) {
            h = h * 31 + std::hash<std::string_view>{}(name);
            h = h * 31 + std::hash<std::string_view>{}(value);
        }
        return h;
    }
};

// Node: the map's value_type (std::pair<const SeriesKey, V>), whose address is stable in
// std::map and std::unordered_map until it is erased: call clear() after any erase.
//
// A pass looks positions up from 0 upwards (a call at position 0 starts one). When a
// process enters or leaves the kept set, every series after it moves by as many
// positions: the hints follow the move (the position where the last looked-up key was the
// pass before), so one new or gone object costs its own series' lookups, not those of
// every series after it (History::intern alone was 4 % of the daemon's CPU at 0.1 s).
template <class Node>
class SeriesHints {
  public:
    // The entry that had `key` at this position, or at this position moved as the last
    // remembered entry moved, in the previous pass; else nullptr.
    // `id`: the sample's SeriesSample::id; when nonzero and equal to the id noted with the
    // entry, the entry is taken without comparing keys.
    Node* find(size_t pos, const SeriesKey& key, uint64_t id = 0) {
        if (pos == kOutside) return nullptr;
        if (pos == 0) start_pass();
        Node* n = at(moved(pos), key, id);
        if (!n && shift_ != 0) n = at(pos, key, id);
        if (n) note(pos, n, id);
        return n;
    }
    // `node` is the entry found for `pos` (its key the sample's, whose id is `id`) after
    // find() returned nullptr.
    void remember(size_t pos, Node* node, uint64_t id = 0) {
        note(pos, node, id);
        // Where it was last pass, near where this pass's entries were expected.
        const size_t expected = moved(pos);
        if (expected == kOutside) return;
        const size_t lo = expected > kReach ? expected - kReach : 0;
        const size_t hi = std::min(prev_.size(), expected + kReach + 1);
        for (size_t q = lo; q < hi; ++q) {
            if (prev_[q].node == node) {
                shift_ = static_cast<ptrdiff_t>(q) - static_cast<ptrdiff_t>(pos);
                return;
            }
        }
    }
    void clear() {
        prev_.clear();
        cur_.clear();
        shift_ = 0;
    }

  private:
    // How far from where it was expected a moved entry is looked for: the series of a few
    // objects (a process has ~60).
    static constexpr size_t kReach = 512;
    // A lookup outside the passes (AnomalyScorer::feed_one).
    static constexpr size_t kOutside = SIZE_MAX;

    size_t moved(size_t pos) const {
        const ptrdiff_t q = static_cast<ptrdiff_t>(pos) + shift_;
        return q < 0 ? kOutside : static_cast<size_t>(q);
    }

    void start_pass() {
        std::swap(prev_, cur_);
        cur_.clear();
        shift_ = 0;
    }
    Node* at(size_t pos, const SeriesKey& key, uint64_t id) const {
        if (pos >= prev_.size() || prev_[pos].node == nullptr) return nullptr;
        const Seen& seen = prev_[pos];
        if (id != 0 && seen.id == id) return seen.node;
        return seen.node->first == key ? seen.node : nullptr;
    }
    void note(size_t pos, Node* node, uint64_t id) {
        if (pos == kOutside) return;
        if (pos >= cur_.size()) cur_.resize(pos + 1);
        cur_[pos] = {node, id};
    }

    // An entry, and the id of the sample it was found for (0: none): equal nonzero ids
    // mean equal keys.
    struct Seen {
        Node* node = nullptr;
        uint64_t id = 0;
    };
    std::vector<Seen> prev_;  // entries by position, previous pass
    std::vector<Seen> cur_;   // entries by position, this pass
    ptrdiff_t shift_ = 0;     // this pass's position + shift_ = the previous pass's
};

}  // namespace perfbpf

// Lookups of series in maps keyed by SeriesKey, done for every series every interval.
//
// SeriesHints: where each position of the previous interval's series was found in a map keyed by
// SeriesKey. The daemon hands its consumers (history, exposition, anomaly scoring) the
// same series in the same order interval after interval: checking that the entry found at
// this position last time still has this key costs one key comparison, where a lookup
// hashes or compares every string of the key several times (the lookups were a fifth of the
// daemon's CPU at 0.1 s with ~1,500 series).
#pragma once

#include <cstddef>
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
template <class Node>
class SeriesHints {
  public:
    // The entry remembered at `pos` if it has `key`, else nullptr.
    Node* find(size_t pos, const SeriesKey& key) const {
        if (pos >= at_.size() || at_[pos] == nullptr) return nullptr;
        Node* n = at_[pos];
        return n->first == key ? n : nullptr;
    }
    void remember(size_t pos, Node* node) {
        if (pos >= at_.size()) at_.resize(pos + 1, nullptr);
        at_[pos] = node;
    }
    void clear() { at_.clear(); }

  private:
    std::vector<Node*> at_;
};

}  // namespace perfbpf

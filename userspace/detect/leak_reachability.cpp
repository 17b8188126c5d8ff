#include "detect/leak_reachability.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>

namespace perfbpf {

namespace {

// Per block while marking. Leaders of lost groups stay Unreached.
enum class Mark : uint8_t { Unreached, Possible, Reachable, Indirect };

constexpr uint64_t kPage = 4096;
constexpr size_t kChunk = 64 * 1024;

class Marker {
  public:
    Marker(std::span<const HeldBlock> blocks, const ReadTargetMemory& read)
        : blocks_(blocks), read_(read), order_(blocks.size()), mark_(blocks.size()) {
        std::iota(order_.begin(), order_.end(), size_t{0});
        std::sort(order_.begin(), order_.end(),
                  [&](size_t a, size_t b) { return blocks_[a].addr < blocks_[b].addr; });
        starts_.reserve(order_.size());
        for (size_t i : order_) {
            starts_.push_back(blocks_[i].addr);
            hi_ = std::max(hi_, blocks_[i].addr + std::max<uint64_t>(blocks_[i].size, 1));
        }
        if (!starts_.empty()) lo_ = starts_.front();
    }

    // Phase 1: from the roots, memcheck's rule (mc_leakcheck.c): a block is reachable when
    // a chain of start pointers leads to it from a root; reached any other way (an interior
    // pointer anywhere in the chain) it is possibly lost, and upgraded, and scanned again,
    // when such a chain turns up.
    void from_roots(std::span<const RootRange> roots, std::span<const uint64_t> words) {
        for (uint64_t w : words) visit(w, true);
        for (const auto& r : roots) {
            root_bytes_ += r.end > r.start ? r.end - r.start : 0;
            scan(r.start, r.end, [&](uint64_t w) { visit(w, true); });
        }
        drain([&](uint64_t w, size_t from) { visit(w, mark_[from] == Mark::Reachable); });
    }

    // Phase 2: each block still unreached, by address, leads the group of unreached blocks
    // it points to (directly or not): those are indirectly lost.
    void lost_groups() {
        for (size_t k = 0; k < order_.size(); ++k) {
            if (mark_[k] != Mark::Unreached) continue;
            const size_t leader = k;
            work_.push_back(k);
            drain([&](uint64_t w, size_t) {
                auto hit = find(w);
                if (!hit || hit->sorted == leader || mark_[hit->sorted] != Mark::Unreached) return;
                mark_[hit->sorted] = Mark::Indirect;
                work_.push_back(hit->sorted);
            });
        }
    }

    Reachability result() const {
        Reachability r;
        r.reach.resize(blocks_.size());
        r.root_bytes = root_bytes_;
        r.unreadable_bytes = unreadable_;
        for (size_t k = 0; k < order_.size(); ++k) {
            const size_t i = order_[k];
            Reach c = Reach::DefinitelyLost;
            ReachTotals* t = &r.definitely_lost;
            switch (mark_[k]) {
                case Mark::Unreached:
                    break;
                case Mark::Indirect:
                    c = Reach::IndirectlyLost, t = &r.indirectly_lost;
                    break;
                case Mark::Possible:
                    c = Reach::PossiblyLost, t = &r.possibly_lost;
                    break;
                case Mark::Reachable:
                    c = Reach::Reachable, t = &r.reachable;
                    break;
            }
            r.reach[i] = c;
            t->blocks++;
            t->bytes += blocks_[i].size;
        }
        return r;
    }

  private:
    struct Hit {
        size_t sorted;
        bool start;
    };

    std::optional<Hit> find(uint64_t w) const {
        if (w < lo_ || w >= hi_) return std::nullopt;
        auto it = std::upper_bound(starts_.begin(), starts_.end(), w);
        const size_t k = static_cast<size_t>(it - starts_.begin()) - 1;
        const HeldBlock& b = blocks_[order_[k]];
        if (w == b.addr) return Hit{k, true};
        if (w - b.addr < b.size) return Hit{k, false};
        return std::nullopt;
    }

    // `w` found in a root or in a block reached through start pointers only (`definite`).
    void visit(uint64_t w, bool definite) {
        auto hit = find(w);
        if (!hit) return;
        Mark& m = mark_[hit->sorted];
        if (m == Mark::Reachable) return;
        if (hit->start && definite) {
            m = Mark::Reachable;
            work_.push_back(hit->sorted);
        } else if (m == Mark::Unreached) {
            m = Mark::Possible;
            work_.push_back(hit->sorted);
        }
    }

    // Scans each block on the worklist; `visit(word, block)`.
    template <class Visit>
    void drain(const Visit& visit) {
        while (!work_.empty()) {
            const size_t k = work_.back();
            work_.pop_back();
            const HeldBlock& b = blocks_[order_[k]];
            scan(b.addr, b.addr + b.size, [&](uint64_t w) { visit(w, k); });
        }
    }

    // Every aligned 8-byte word in [start, end); an unreadable page is skipped.
    template <class Visit>
    void scan(uint64_t start, uint64_t end, const Visit& visit) {
        uint64_t at = (start + 7) & ~uint64_t{7};
        while (at + 8 <= end) {
            const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, (end - at) & ~7ull));
            buf_.resize(want);
            const size_t got = std::min(read_(at, std::span<uint8_t>(buf_.data(), want)), want);
            for (size_t off = 0; off + 8 <= got; off += 8) {
                uint64_t w;
                std::memcpy(&w, buf_.data() + off, 8);
                visit(w);
            }
            if (got == want) {
                at += want;
                continue;
            }
            const uint64_t bad = at + (got & ~size_t{7});
            const uint64_t next = std::min(end, (bad + kPage) & ~(kPage - 1));
            unreadable_ += next - bad;
            at = (next + 7) & ~uint64_t{7};
        }
    }

    std::span<const HeldBlock> blocks_;
    const ReadTargetMemory& read_;
    std::vector<size_t> order_;  // block indexes by address
    std::vector<uint64_t> starts_;
    std::vector<Mark> mark_;  // by position in order_
    std::vector<size_t> work_;
    std::vector<uint8_t> buf_;
    uint64_t lo_ = 0, hi_ = 0;
    uint64_t root_bytes_ = 0, unreadable_ = 0;
};

}  // namespace

Reachability classify_reachability(std::span<const HeldBlock> blocks,
                                   std::span<const RootRange> roots,
                                   std::span<const uint64_t> root_words,
                                   const ReadTargetMemory& read) {
    Marker m(blocks, read);
    m.from_roots(roots, root_words);
    m.lost_groups();
    return m.result();
}

const char* reach_name(Reach r) {
    switch (r) {
        case Reach::DefinitelyLost:
            return "definitely lost";
        case Reach::IndirectlyLost:
            return "indirectly lost";
        case Reach::PossiblyLost:
            return "possibly lost";
        case Reach::Reachable:
            return "still reachable";
    }
    return "?";
}

}  // namespace perfbpf

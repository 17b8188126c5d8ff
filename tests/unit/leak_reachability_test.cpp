// Reachability of outstanding blocks on synthetic memory: chains, cycles, interior
// pointers, unreadable pages, registers, and chains too long for recursion.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "detect/leak_reachability.h"

namespace perfbpf {
namespace {

// Target memory made of mapped pages; anything else is unreadable.
class FakeMemory {
  public:
    void map(uint64_t start, uint64_t bytes) {
        for (uint64_t p = start & ~4095ull; p < start + bytes; p += 4096) pages_[p].resize(4096);
    }
    void put(uint64_t addr, uint64_t value) {
        for (int i = 0; i < 8; ++i)
            pages_.at((addr + i) & ~4095ull)[(addr + i) & 4095] =
                static_cast<uint8_t>(value >> (8 * i));
    }
    size_t read(uint64_t addr, std::span<uint8_t> out) const {
        size_t done = 0;
        while (done < out.size()) {
            auto it = pages_.find((addr + done) & ~4095ull);
            if (it == pages_.end()) break;
            const size_t off = (addr + done) & 4095;
            const size_t n = std::min(out.size() - done, 4096 - off);
            std::memcpy(out.data() + done, it->second.data() + off, n);
            done += n;
        }
        return done;
    }
    ReadTargetMemory reader() const {
        return [this](uint64_t a, std::span<uint8_t> o) { return read(a, o); };
    }

  private:
    std::map<uint64_t, std::vector<uint8_t>> pages_;
};

constexpr uint64_t kRoot = 0x10000;  // a "data segment" of one page
constexpr uint64_t kHeap = 0x100000;

struct World {
    FakeMemory mem;
    std::vector<HeldBlock> blocks;
    World() {
        mem.map(kRoot, 4096);
        mem.map(kHeap, 1 << 20);
    }
    uint64_t block(uint64_t addr, uint64_t size) {
        blocks.push_back({addr, size, static_cast<uint32_t>(blocks.size() + 1)});
        return addr;
    }
    Reachability run(std::vector<uint64_t> regs = {}) {
        std::vector<RootRange> roots{{kRoot, kRoot + 4096}};
        return classify_reachability(blocks, roots, regs, mem.reader());
    }
};

TEST(LeakReachability, ChainFromARootIsReachable) {
    World w;
    auto a = w.block(kHeap + 0x100, 32), b = w.block(kHeap + 0x200, 32),
         c = w.block(kHeap + 0x300, 32);
    w.mem.put(kRoot + 8, a);
    w.mem.put(a + 8, b);
    w.mem.put(b + 24, c);
    auto r = w.run();
    EXPECT_EQ(r.reach, (std::vector<Reach>{Reach::Reachable, Reach::Reachable, Reach::Reachable}));
    EXPECT_EQ(r.reachable.bytes, 96u);
    EXPECT_EQ(r.definitely_lost.blocks, 0u);
    EXPECT_EQ(r.root_bytes, 4096u);
}

TEST(LeakReachability, UnreachedChainHasOneDefinitelyLostHeadTheRestIndirect) {
    World w;
    // The head sits above its children: the lower block is visited first as a candidate
    // leader and must still end up indirect once the head reaches it.
    auto child = w.block(kHeap + 0x100, 16), grandchild = w.block(kHeap + 0x180, 48),
         head = w.block(kHeap + 0x800, 64), alone = w.block(kHeap + 0x900, 8);
    w.mem.put(head, child);
    w.mem.put(child + 8, grandchild);
    auto r = w.run();
    EXPECT_EQ(r.reach[0], Reach::IndirectlyLost);
    EXPECT_EQ(r.reach[1], Reach::IndirectlyLost);
    EXPECT_EQ(r.reach[2], Reach::DefinitelyLost);
    EXPECT_EQ(r.reach[3], Reach::DefinitelyLost);
    EXPECT_EQ(r.definitely_lost.bytes, 64u + 8u);
    EXPECT_EQ(r.indirectly_lost.bytes, 16u + 48u);
    (void)head, (void)alone;
}

TEST(LeakReachability, LostCycleKeepsOneDefinitelyLostLeader) {
    World w;
    auto a = w.block(kHeap + 0x100, 32), b = w.block(kHeap + 0x200, 32),
         c = w.block(kHeap + 0x300, 32);
    w.mem.put(a, b);
    w.mem.put(b, c);
    w.mem.put(c, a);
    auto r = w.run();
    EXPECT_EQ(r.definitely_lost.blocks, 1u);
    EXPECT_EQ(r.indirectly_lost.blocks, 2u);
    EXPECT_EQ(r.reach[0], Reach::DefinitelyLost);  // the first by address leads
}

TEST(LeakReachability, ReachedCycleIsReachable) {
    World w;
    auto a = w.block(kHeap + 0x100, 32), b = w.block(kHeap + 0x200, 32);
    w.mem.put(a, b);
    w.mem.put(b, a);
    w.mem.put(kRoot + 4088, b);  // the root's last word
    auto r = w.run();
    EXPECT_EQ(r.reachable.blocks, 2u);
}

TEST(LeakReachability, InteriorPointerIsPossiblyLostUntilAStartPointerChainTurnsUp) {
    World w;
    auto a = w.block(kHeap + 0x100, 64), b = w.block(kHeap + 0x200, 64),
         c = w.block(kHeap + 0x300, 64), d = w.block(kHeap + 0x400, 64),
         e = w.block(kHeap + 0x500, 64);
    w.mem.put(kRoot, a + 16);      // interior: a possibly lost
    w.mem.put(a + 8, b);           // a start pointer, but from a possibly lost block: possibly
    w.mem.put(kRoot + 8, c + 63);  // c possibly lost, for now
    w.mem.put(kRoot + 16, d);      // d reachable
    w.mem.put(d + 8, c);           // a start-pointer chain to c: upgraded
    w.mem.put(c, e);               // and scanned again, so e is reachable too
    auto r = w.run();
    EXPECT_EQ(r.reach[0], Reach::PossiblyLost);
    EXPECT_EQ(r.reach[1], Reach::PossiblyLost);
    EXPECT_EQ(r.reach[2], Reach::Reachable);
    EXPECT_EQ(r.reach[3], Reach::Reachable);
    EXPECT_EQ(r.reach[4], Reach::Reachable);
    EXPECT_EQ(r.possibly_lost.bytes, 128u);
}

TEST(LeakReachability, OnePastTheEndAndUnalignedWordsAreNotPointers) {
    World w;
    auto a = w.block(kHeap + 0x100, 40), b = w.block(kHeap + 0x200, 40);
    w.mem.put(kRoot, a + 40);  // one past the end
    w.mem.put(kRoot + 12, b);  // not 8-byte aligned
    auto r = w.run();
    EXPECT_EQ(r.definitely_lost.blocks, 2u);
}

TEST(LeakReachability, ZeroSizedBlockIsFoundByItsStartOnly) {
    World w;
    auto a = w.block(kHeap + 0x100, 0), b = w.block(kHeap + 0x200, 0);
    w.mem.put(kRoot, a);
    w.mem.put(kRoot + 8, b + 1);
    auto r = w.run();
    EXPECT_EQ(r.reach[0], Reach::Reachable);
    EXPECT_EQ(r.reach[1], Reach::DefinitelyLost);
}

TEST(LeakReachability, RegistersAreRoots) {
    World w;
    auto a = w.block(kHeap + 0x100, 24), b = w.block(kHeap + 0x200, 24);
    w.mem.put(a, b);
    auto r = w.run({0, 12345, a});
    EXPECT_EQ(r.reachable.blocks, 2u);
}

TEST(LeakReachability, UnreadablePagesAreSkippedAndCounted) {
    World w;
    auto a = w.block(kHeap + 0x100, 24);
    // A root of three pages whose middle one is not mapped; the pointer is on the third.
    const uint64_t base = 0x40000;
    w.mem.map(base, 4096);
    w.mem.map(base + 8192, 4096);
    w.mem.put(base + 8192 + 16, a);
    std::vector<RootRange> roots{{base, base + 3 * 4096}};
    auto r = classify_reachability(w.blocks, roots, {}, w.mem.reader());
    EXPECT_EQ(r.reach[0], Reach::Reachable);
    EXPECT_EQ(r.unreadable_bytes, 4096u);
    // A block whose memory cannot be read is still classified, its pointers unseen.
    World v;
    auto in_hole = v.block(0x900000, 32);
    v.mem.put(kRoot, in_hole);
    auto s = v.run();
    EXPECT_EQ(s.reach[0], Reach::Reachable);
    EXPECT_EQ(s.unreadable_bytes, 32u);
}

TEST(LeakReachability, LongChainsNeedNoRecursion) {
    World w;
    const uint64_t n = 60000;  // 16-byte blocks filling most of the 1 MiB heap
    for (uint64_t i = 0; i < n; ++i) w.block(kHeap + 16 * i, 16);
    // Reached chain from the root, walking down from the top block.
    for (uint64_t i = n - 1; i > 0; --i) w.mem.put(kHeap + 16 * i, kHeap + 16 * (i - 1));
    w.mem.put(kRoot, kHeap + 16 * (n - 1));
    auto r = w.run();
    EXPECT_EQ(r.reachable.blocks, n);
    // The same chain lost: only its head is definitely lost, whatever the address order.
    w.mem.put(kRoot, 0);
    auto lost = w.run();
    EXPECT_EQ(lost.definitely_lost.blocks, 1u);
    EXPECT_EQ(lost.reach[n - 1], Reach::DefinitelyLost);
    EXPECT_EQ(lost.indirectly_lost.blocks, n - 1);
}

TEST(LeakReachability, NoBlocksNothingToClassify) {
    World w;
    auto r = w.run();
    EXPECT_TRUE(r.reach.empty());
    EXPECT_EQ(r.definitely_lost.bytes + r.reachable.bytes, 0u);
}

}  // namespace
}  // namespace perfbpf

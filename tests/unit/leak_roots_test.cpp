// The rule that picks the target's root memory for the reachability scan.
#include <gtest/gtest.h>

#include "detect/leak_roots.h"

namespace perfbpf {
namespace {

Mapping rw(uint64_t start, uint64_t end, std::string path = {}) {
    Mapping m;
    m.start = start;
    m.end = end;
    m.readable = m.writable = true;
    m.path = std::move(path);
    return m;
}

TEST(LeakRoots, WritableModuleDataAndAnonymousMemoryAreRoots) {
    Mapping text = rw(0x1000, 0x2000, "/usr/bin/prog");
    text.writable = false;
    text.executable = true;
    std::vector<Mapping> maps{text, rw(0x3000, 0x4000, "/usr/bin/prog"), rw(0x4000, 0x6000),
                              rw(0x7000, 0x8000, "/usr/lib/libc.so.6")};
    auto roots = select_roots(maps, {}, {});
    ASSERT_EQ(roots.size(), 3u);
    EXPECT_EQ(roots[0].start, 0x3000u);
    EXPECT_EQ(roots[1].end, 0x6000u);
    EXPECT_EQ(roots[2].start, 0x7000u);
}

TEST(LeakRoots, HeapArenasAndDevicesAreNotRoots) {
    std::vector<Mapping> maps{rw(0x10000, 0x20000, "[heap]"),
                              rw(0x30000, 0x40000),  // an arena: holds a block
                              rw(0x50000, 0x51000, "/dev/dri/card0"),
                              rw(0x60000, 0x61000, "/dev/shm/seg"),
                              rw(0x70000, 0x71000, "[vvar]"),
                              rw(0x80000, 0x81000)};  // a block ends right before it
    std::vector<HeldBlock> blocks{{0x7ff00, 0x100, 1}, {0x3f000, 0x10, 2}};
    auto roots = select_roots(maps, {}, blocks);
    ASSERT_EQ(roots.size(), 2u);
    EXPECT_EQ(roots[0].start, 0x60000u);
    EXPECT_EQ(roots[1].start, 0x80000u);
}

TEST(LeakRoots, LargeBlockSpanningAMappingExcludesIt) {
    // A block that starts before the mapping and ends inside it still overlaps.
    std::vector<Mapping> maps{rw(0x20000, 0x30000), rw(0x40000, 0x50000)};
    std::vector<HeldBlock> blocks{{0x10000, 0x10800, 1}, {0x18000, 0x10, 2}};
    auto roots = select_roots(maps, {}, blocks);
    ASSERT_EQ(roots.size(), 1u);
    EXPECT_EQ(roots[0].start, 0x40000u);
}

TEST(LeakRoots, StacksAreScannedFromTheStackPointerMinusTheRedZone) {
    std::vector<Mapping> maps{rw(0x100000, 0x200000, "[stack]"), rw(0x300000, 0x310000),
                              rw(0x400000, 0x410000)};
    std::vector<uint64_t> sps{0x1ff000, 0x308000, 0x304000, 0x400040};
    auto roots = select_roots(maps, sps, {});
    ASSERT_EQ(roots.size(), 3u);
    EXPECT_EQ(roots[0].start, 0x1ff000u - kStackRedZone);
    EXPECT_EQ(roots[0].end, 0x200000u);
    EXPECT_EQ(roots[1].start, 0x304000u - kStackRedZone);  // the lowest of two threads
    EXPECT_EQ(roots[2].start, 0x400000u);                  // not below the mapping
}

}  // namespace
}  // namespace perfbpf

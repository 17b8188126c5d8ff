// Growth mode's record of the target's mmaps: the last mapping of an address decides.
#include <gtest/gtest.h>

#include "symbolize/recent_mappings.h"

namespace perfbpf {
namespace {

TEST(RecentMappings, LaterMappingReplacesTheCoveredPart) {
    RecentMappings m;
    EXPECT_EQ(m.file_at(0x1000), std::nullopt);
    m.add(0x10000, 0x10000, true);  // a file at [0x10000, 0x20000)
    EXPECT_EQ(m.file_at(0x10000), true);
    EXPECT_EQ(m.file_at(0x1ffff), true);
    EXPECT_EQ(m.file_at(0x20000), std::nullopt);
    EXPECT_EQ(m.file_at(0xffff), std::nullopt);
    m.add(0x14000, 0x4000, false);  // anonymous memory in its middle
    EXPECT_EQ(m.file_at(0x13fff), true);
    EXPECT_EQ(m.file_at(0x14000), false);
    EXPECT_EQ(m.file_at(0x17fff), false);
    EXPECT_EQ(m.file_at(0x18000), true);
    EXPECT_EQ(m.size(), 3u);
    m.add(0x8000, 0x20000, false);  // covers all of it and more
    EXPECT_EQ(m.file_at(0x10000), false);
    EXPECT_EQ(m.file_at(0x1ffff), false);
    EXPECT_EQ(m.file_at(0x27fff), false);
    EXPECT_EQ(m.size(), 1u);
}

TEST(RecentMappings, OverlapAtEitherEndKeepsTheRest) {
    RecentMappings m;
    m.add(0x10000, 0x10000, false);
    m.add(0x18000, 0x10000, true);  // over the tail
    m.add(0x8000, 0xc000, true);    // over the head
    EXPECT_EQ(m.file_at(0x8000), true);
    EXPECT_EQ(m.file_at(0x13fff), true);
    EXPECT_EQ(m.file_at(0x14000), false);
    EXPECT_EQ(m.file_at(0x17fff), false);
    EXPECT_EQ(m.file_at(0x18000), true);
    EXPECT_EQ(m.file_at(0x27fff), true);
    m.add(0x30000, 0, true);                  // empty: nothing
    m.add(UINT64_MAX - 0xfff, 0x2000, true);  // wraps: refused
    EXPECT_EQ(m.file_at(0x30000), std::nullopt);
    EXPECT_EQ(m.file_at(UINT64_MAX - 1), std::nullopt);
}

}  // namespace
}  // namespace perfbpf

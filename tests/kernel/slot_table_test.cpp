// probes/slot_table against real BPF maps: what the BPF side's tgid_slot claims, user space
// visits through the bitmap and frees in the order the claimers rely on.
#include "probes/slot_table.h"

#include <gtest/gtest.h>

#include <bpf/bpf.h>

#include <cstring>
#include <vector>

#include "support.h"
#include "util/fd.h"

namespace perfbpf {
namespace {

struct TestSlot {
    uint32_t tag;
    uint32_t pad;
    uint64_t counts[7];
};

constexpr uint32_t kSlots = 256;

UniqueFd make_map(bpf_map_type type, uint32_t key, uint32_t value, uint32_t entries,
                  uint32_t flags) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
    return UniqueFd(bpf_map_create(type, "slot_test", key, value, entries, &opts));
}

TEST(SlotTable, VisitsTheClaimedSlotsAndReleasesBitThenBytesThenClaim) {
    PERFBPF_REQUIRE_ROOT();
    UniqueFd slots = make_map(BPF_MAP_TYPE_ARRAY, 4, sizeof(TestSlot), kSlots, BPF_F_MMAPABLE);
    UniqueFd used = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, kSlots / 64, BPF_F_MMAPABLE);
    UniqueFd claims = make_map(BPF_MAP_TYPE_HASH, 4, 8, kSlots, 0);
    ASSERT_GE(slots.get(), 0);
    ASSERT_GE(used.get(), 0);
    ASSERT_GE(claims.get(), 0);
    auto table = SlotTable::map(slots.get(), used.get(), claims.get(), kSlots, sizeof(TestSlot),
                                "test slots");
    ASSERT_TRUE(table) << table.error().message;
    auto s = table->slots<TestSlot>();
    ASSERT_EQ(s.size(), kSlots);
    ASSERT_EQ(table->used().size(), kSlots / 64);
    EXPECT_TRUE(table->slots<uint64_t>().empty()) << "a slot type of another size is refused";

    // As tgid_slot claims: the claim, the tag, the bit.
    const std::vector<uint32_t> claimed = {0, 63, 64, 200, 255};
    for (uint32_t idx : claimed) {
        uint64_t owner = 1000 + idx;
        ASSERT_EQ(bpf_map_update_elem(claims.get(), &idx, &owner, BPF_NOEXIST), 0);
        s[idx].tag = static_cast<uint32_t>(owner);
        s[idx].counts[3] = idx;
        table->used()[idx / 64] |= 1ULL << (idx % 64);
    }
    s[100].tag = 77;  // a tag without its bit (claimed this instant): not visited yet
    std::vector<uint32_t> visited;
    table->for_each_claimed([&](uint32_t idx) { visited.push_back(idx); });
    EXPECT_EQ(visited, claimed);

    table->release(64);
    EXPECT_EQ(table->used()[1], 0u) << "slot 64's bit (the only one in word 1)";
    TestSlot zero{};
    EXPECT_EQ(std::memcmp(&s[64], &zero, sizeof zero), 0) << "its bytes";
    uint32_t key = 64;
    uint64_t owner = 0;
    EXPECT_NE(bpf_map_lookup_elem(claims.get(), &key, &owner), 0) << "its claim";
    // The others are untouched.
    visited.clear();
    table->for_each_claimed([&](uint32_t idx) { visited.push_back(idx); });
    EXPECT_EQ(visited, (std::vector<uint32_t>{0, 63, 200, 255}));
    EXPECT_EQ(s[200].counts[3], 200u);
    key = 200;
    EXPECT_EQ(bpf_map_lookup_elem(claims.get(), &key, &owner), 0);
    // Out of range: nothing.
    table->release(kSlots);
    visited.clear();
    table->for_each_claimed([&](uint32_t idx) { visited.push_back(idx); });
    EXPECT_EQ(visited.size(), 4u);
}

}  // namespace
}  // namespace perfbpf

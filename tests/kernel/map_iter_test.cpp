// Reading BPF hash maps from user space (collect/bpf_map_iter.h) against real kernel maps:
// the batched path must see exactly the entries the key-by-key path sees, for every hash
// kind the probes use, across chunks and when one bucket holds more than a chunk.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "collect/bpf_map_iter.h"
#include "support.h"
#include "util/fd.h"
#include "util/result.h"

namespace perfbpf {
namespace {

struct Value {
    uint64_t a;
    uint32_t b;
    uint32_t pad;
};

UniqueFd make_map(bpf_map_type type, uint32_t value_size, uint32_t max_entries) {
    int fd = bpf_map_create(type, "iter_test", sizeof(uint32_t), value_size, max_entries, nullptr);
    EXPECT_GE(fd, 0) << "bpf_map_create: " << errno_text(errno);
    return UniqueFd(fd);
}

std::map<uint32_t, Value> key_by_key(int fd) {
    std::map<uint32_t, Value> out;
    uint32_t next = 0, key = 0;
    const uint32_t* prev = nullptr;
    Value v{};
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) out[next] = v;
        key = next;
        prev = &key;
    }
    return out;
}

class MapIter : public ::testing::TestWithParam<bpf_map_type> {
  protected:
    void SetUp() override { PERFBPF_REQUIRE_ROOT(); }
};

TEST_P(MapIter, BatchedReadSeesEveryEntryOnce) {
    constexpr uint32_t kEntries = 2500;  // more than two batches
    UniqueFd map = make_map(GetParam(), sizeof(Value), 4096);
    ASSERT_TRUE(map.valid());
    for (uint32_t k = 1; k <= kEntries; ++k) {
        Value v{k * 1000ull, k, 0};
        ASSERT_EQ(bpf_map_update_elem(map.get(), &k, &v, BPF_ANY), 0) << errno_text(errno);
    }
    std::map<uint32_t, Value> seen;
    size_t calls = 0;
    for_each_entry<uint32_t, Value>(map.get(), [&](const uint32_t& k, const Value& v) {
        ++calls;
        seen[k] = v;
    });
    EXPECT_EQ(calls, kEntries) << "an entry was visited twice or not at all";
    ASSERT_EQ(seen.size(), key_by_key(map.get()).size());
    for (const auto& [k, v] : seen) {
        EXPECT_EQ(v.a, k * 1000ull);
        EXPECT_EQ(v.b, k);
    }
}

TEST_P(MapIter, ABucketLargerThanTheChunkGrowsIt) {
    UniqueFd map = make_map(GetParam(), sizeof(Value), 64);
    ASSERT_TRUE(map.valid());
    for (uint32_t k = 1; k <= 60; ++k) {
        Value v{k, k, 0};
        ASSERT_EQ(bpf_map_update_elem(map.get(), &k, &v, BPF_ANY), 0) << errno_text(errno);
    }
    // 60 keys in 64 buckets: some bucket holds two, more than a one-entry chunk.
    size_t calls = 0;
    bool batched = map_iter_detail::lookup_batches(
        map.get(), sizeof(uint32_t), sizeof(Value), [&](const void*, const void*) { ++calls; },
        /*chunk=*/1);
    EXPECT_TRUE(batched);
    EXPECT_EQ(calls, 60u);
}

TEST_P(MapIter, EmptyMapVisitsNothing) {
    UniqueFd map = make_map(GetParam(), sizeof(Value), 16);
    ASSERT_TRUE(map.valid());
    size_t calls = 0;
    for_each_entry<uint32_t, Value>(map.get(), [&](const uint32_t&, const Value&) { ++calls; });
    EXPECT_EQ(calls, 0u);
}

INSTANTIATE_TEST_SUITE_P(Hashes, MapIter,
                         ::testing::Values(BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH),
                         [](const auto& info) {
                             return info.param == BPF_MAP_TYPE_HASH ? "Hash" : "LruHash";
                         });

TEST(MapIterPerCpu, EveryCpusValueOfEveryKey) {
    PERFBPF_REQUIRE_ROOT();
    const int ncpus = libbpf_num_possible_cpus();
    ASSERT_GT(ncpus, 0);
    UniqueFd map = make_map(BPF_MAP_TYPE_PERCPU_HASH, sizeof(uint64_t), 2048);
    ASSERT_TRUE(map.valid());
    std::vector<uint64_t> values(static_cast<size_t>(ncpus));
    for (uint32_t k = 1; k <= 1500; ++k) {
        for (int c = 0; c < ncpus; ++c) values[static_cast<size_t>(c)] = k * 10ull + c;
        ASSERT_EQ(bpf_map_update_elem(map.get(), &k, values.data(), BPF_ANY), 0);
    }
    size_t calls = 0;
    for_each_percpu_entry<uint32_t, uint64_t>(
        map.get(), [&](const uint32_t& k, const std::vector<uint64_t>& v) {
            ++calls;
            ASSERT_EQ(v.size(), static_cast<size_t>(ncpus));
            for (int c = 0; c < ncpus; ++c) EXPECT_EQ(v[static_cast<size_t>(c)], k * 10ull + c);
        });
    EXPECT_EQ(calls, 1500u);
}

}  // namespace
}  // namespace perfbpf

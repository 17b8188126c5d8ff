// Reading BPF maps from user space: hash iteration and per-CPU values.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

namespace perfbpf {

namespace map_iter_detail {

// Entries asked for per BPF_MAP_LOOKUP_BATCH call. One call copies a whole chunk, where
// get_next_key + lookup_elem cost two system calls per entry (≈19 ms of a core per
// interval at 10 000 threads, the pipeline's largest cost).
inline constexpr uint32_t kBatchEntries = 1024;

// Visits every entry of a hash map with key_size-byte keys and value_size-byte values
// (for per-CPU maps: the kernel's per-CPU stride times the CPUs) in chunks. Returns false,
// having visited nothing, when the kernel cannot batch this map (then the caller iterates
// key by key); true otherwise, also when the map changed underneath (a batch read of a
// hash is consistent per bucket, and the readers add up cumulative values).
// `chunk` is the first batch size (tests make it tiny to see a bucket outgrow it).
inline bool lookup_batches(int map_fd, size_t key_size, size_t value_size,
                           const std::function<void(const void*, const void*)>& fn,
                           uint32_t chunk = kBatchEntries) {
    // Reused from call to call and only grown: at 0.1 s the sched map alone asked for
    // 1,024 values of 232 bytes each interval, allocated and zeroed every time.
    // The callbacks never read a map themselves, so one set per thread is enough.
    thread_local std::vector<unsigned char> keys, values;
    // The batch token: a bucket index for hashes; sized for any key to be safe.
    std::vector<unsigned char> in(std::max<size_t>(key_size, 8)), out(in.size());
    bool first = true;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    for (;;) {
        if (keys.size() < size_t{chunk} * key_size) keys.resize(size_t{chunk} * key_size);
        if (values.size() < size_t{chunk} * value_size) values.resize(size_t{chunk} * value_size);
        uint32_t count = chunk;
        int err = bpf_map_lookup_batch(map_fd, first ? nullptr : in.data(), out.data(), keys.data(),
                                       values.data(), &count, &opts);
        int saved = err ? errno : 0;
        if (err && saved == ENOSPC && count == 0 && chunk < (1u << 20)) {
            chunk *= 4;  // one bucket holds more entries than a chunk
            continue;
        }
        if (err && saved != ENOENT && first && count == 0) return false;
        for (uint32_t i = 0; i < count; ++i)
            fn(keys.data() + i * key_size, values.data() + i * value_size);
        if (err) return true;  // ENOENT: past the last bucket; anything else: stop here
        std::memcpy(in.data(), out.data(), in.size());
        first = false;
    }
}

}  // namespace map_iter_detail

// Calls fn(key, value) for every entry of a hash map with fixed-size Key and Value.
// Entries deleted concurrently are skipped; duplicates are harmless for cumulative values
// read into a map. Batched where the kernel can (5.6+), key by key otherwise.
template <class Key, class Value>
void for_each_entry(int map_fd, const std::function<void(const Key&, const Value&)>& fn) {
    bool batched = map_iter_detail::lookup_batches(map_fd, sizeof(Key), sizeof(Value),
                                                   [&](const void* k, const void* v) {
                                                       Key key;
                                                       Value value;
                                                       std::memcpy(&key, k, sizeof key);
                                                       std::memcpy(&value, v, sizeof value);
                                                       fn(key, value);
                                                   });
    if (batched) return;
    // get_next_key on a vanished key returns the first key: no restart needed.
    Key key{}, next{};
    Value value{};
    const Key* prev = nullptr;
    while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(map_fd, &next, &value) == 0) fn(next, value);
        key = next;
        prev = &key;
    }
}

// The per-CPU values of one key of a PERCPU_ARRAY/PERCPU_HASH into `out`, which keeps its
// capacity from call to call (empty on failure). A device's values are ≈1 KB a CPU: a
// fresh vector for each device each read was 2.4 % of the daemon's own CPU at 0.1 s, most
// of it malloc consolidating its fast bins for a large request.
// libbpf rounds each CPU's value to 8 bytes; Value must be a multiple of 8 bytes.
template <class Value>
void per_cpu_values(int map_fd, const void* key, std::vector<Value>& out) {
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values are 8-byte aligned");
    const int ncpus = libbpf_num_possible_cpus();
    out.resize(ncpus > 0 ? static_cast<size_t>(ncpus) : 0);
    if (!out.empty() && bpf_map_lookup_elem(map_fd, key, out.data()) != 0) out.clear();
}

// The same into a new vector, for reads of one key an interval.
template <class Value>
std::vector<Value> per_cpu_values(int map_fd, const void* key) {
    std::vector<Value> values;
    per_cpu_values(map_fd, key, values);
    return values;
}

// Calls fn(key, per-CPU values) for every entry of a PERCPU_HASH.
template <class Key, class Value>
void for_each_percpu_entry(int map_fd,
                           const std::function<void(const Key&, const std::vector<Value>&)>& fn) {
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values are 8-byte aligned");
    int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return;
    const auto n = static_cast<size_t>(ncpus);
    std::vector<Value> values(n);
    bool batched = map_iter_detail::lookup_batches(
        map_fd, sizeof(Key), n * sizeof(Value), [&](const void* k, const void* v) {
            Key key;
            std::memcpy(&key, k, sizeof key);
            std::memcpy(values.data(), v, n * sizeof(Value));
            fn(key, values);
        });
    if (batched) return;
    Key key{}, next{};
    const Key* prev = nullptr;
    while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(map_fd, &next, values.data()) == 0) fn(next, values);
        key = next;
        prev = &key;
    }
}

}  // namespace perfbpf

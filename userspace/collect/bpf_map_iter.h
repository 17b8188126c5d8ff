// Reading BPF maps from user space: hash iteration and per-CPU values.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <functional>
#include <vector>

namespace perfbpf {

// Calls fn(key, value) for every entry of a hash map with fixed-size Key and Value.
// Entries deleted concurrently are skipped; iteration restarts are not needed because
// get_next_key on a vanished key returns the first key, and duplicates are harmless for
// cumulative values read into a map.
template <class Key, class Value>
void for_each_entry(int map_fd, const std::function<void(const Key&, const Value&)>& fn) {
    Key key{}, next{};
    Value value{};
    const Key* prev = nullptr;
    while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(map_fd, &next, &value) == 0) fn(next, value);
        key = next;
        prev = &key;
    }
}

// The per-CPU values of one key of a PERCPU_ARRAY/PERCPU_HASH (empty on failure).
// libbpf rounds each CPU's value to 8 bytes; Value must be a multiple of 8 bytes.
template <class Value>
std::vector<Value> per_cpu_values(int map_fd, const void* key) {
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values are 8-byte aligned");
    int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return {};
    std::vector<Value> values(static_cast<size_t>(ncpus));
    if (bpf_map_lookup_elem(map_fd, key, values.data()) != 0) return {};
    return values;
}

// Calls fn(key, per-CPU values) for every entry of a PERCPU_HASH.
template <class Key, class Value>
void for_each_percpu_entry(int map_fd,
                           const std::function<void(const Key&, const std::vector<Value>&)>& fn) {
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values are 8-byte aligned");
    int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0) return;
    std::vector<Value> values(static_cast<size_t>(ncpus));
    Key key{}, next{};
    const Key* prev = nullptr;
    while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(map_fd, &next, values.data()) == 0) fn(next, values);
        key = next;
        prev = &key;
    }
}

}  // namespace perfbpf

#include "probes/slot_table.h"

#include <bpf/bpf.h>

#include <cstring>

namespace perfbpf {

Result<SlotTable> SlotTable::map(int slots_fd, int used_fd, int claims_fd, uint32_t count,
                                 size_t slot_bytes, const std::string& name) {
    SlotTable t;
    auto s = MappedMap::map(slots_fd, slot_bytes * count, name);
    if (!s) return std::unexpected(s.error());
    auto u = MappedMap::map(used_fd, sizeof(uint64_t) * (count / 64), name + " bitmap");
    if (!u) return std::unexpected(u.error());
    t.slots_ = std::move(*s);
    t.used_ = std::move(*u);
    t.claims_fd_ = claims_fd;
    t.count_ = count;
    t.slot_bytes_ = slot_bytes;
    return t;
}

void SlotTable::release(uint32_t idx) const {
    if (idx >= count_ || !slots_.data()) return;
    __atomic_fetch_and(&used()[idx / 64], ~(1ULL << (idx % 64)), __ATOMIC_SEQ_CST);
    std::memset(static_cast<char*>(slots_.data()) + size_t{idx} * slot_bytes_, 0, slot_bytes_);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bpf_map_delete_elem(claims_fd_, &idx);
}

}  // namespace perfbpf

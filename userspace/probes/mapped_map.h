// A shared mapping of a BPF_F_MMAPABLE array map.
#pragma once

#include <cstddef>
#include <string>

#include "util/result.h"

namespace perfbpf {

// A shared, read-write mapping of a BPF_F_MMAPABLE array; unmapped on destruction.
class MappedMap {
  public:
    static Result<MappedMap> map(int map_fd, size_t bytes, const std::string& name);
    MappedMap() = default;
    MappedMap(MappedMap&& o) noexcept;
    MappedMap& operator=(MappedMap&& o) noexcept;
    MappedMap(const MappedMap&) = delete;
    MappedMap& operator=(const MappedMap&) = delete;
    ~MappedMap();
    void* data() const { return addr_; }
    size_t size() const { return bytes_; }

  private:
    void* addr_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace perfbpf

#include "probes/mapped_map.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace perfbpf {

Result<MappedMap> MappedMap::map(int map_fd, size_t bytes, const std::string& name) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t len = (bytes + page - 1) / page * page;
    void* addr = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (addr == MAP_FAILED) return fail_errno("mmap map '" + name + "'", errno);
    MappedMap m;
    m.addr_ = addr;
    m.bytes_ = len;
    return m;
}

MappedMap::MappedMap(MappedMap&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

MappedMap& MappedMap::operator=(MappedMap&& o) noexcept {
    if (this != &o) {
        if (addr_) ::munmap(addr_, bytes_);
        addr_ = std::exchange(o.addr_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
}

MappedMap::~MappedMap() {
    if (addr_) ::munmap(addr_, bytes_);
}

}  // namespace perfbpf

// A loop device over a sparse file of ours, attached with the loop ioctls (no losetup
// needed) and detached, with its file removed, on destruction. The selftest's block
// workload does direct I/O on it; kernel tests put a filesystem on it.
#pragma once

#include <cstdint>
#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace perfbpf::selftest {

class LoopDevice {
  public:
    // A device over a new sparse file of size_bytes in a temporary directory under `dir`.
    // The loop device reads its file with direct I/O when the file's filesystem allows it.
    static Result<LoopDevice> create(uint64_t size_bytes, const std::string& dir = "/var/tmp");
    LoopDevice(LoopDevice&& o) noexcept;
    LoopDevice& operator=(LoopDevice&& o) noexcept;
    LoopDevice(const LoopDevice&) = delete;
    LoopDevice& operator=(const LoopDevice&) = delete;
    ~LoopDevice();

    const std::string& device() const { return device_; }  // "/dev/loop3"
    std::string name() const;                              // "loop3"
    const std::string& directory() const { return dir_; }  // the temporary directory

  private:
    LoopDevice() = default;
    void release();
    std::string dir_, backing_, device_;
    UniqueFd fd_;  // held open: with LO_FLAGS_AUTOCLEAR the device dies with us
};

// On `device`: writes then reads back `bytes` with O_DIRECT from its start, then eight
// 4 KiB direct writes in one descending submission (front merges), then 1 MiB of
// buffered writes flushed by our own fsync (back merges). 0 on success. The device must
// hold bytes + 2 MiB.
int block_io(const std::string& device, uint64_t bytes);

}  // namespace perfbpf::selftest

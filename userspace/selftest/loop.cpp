#include "selftest/loop.h"

#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "util/fd.h"

namespace perfbpf::selftest {

Result<LoopDevice> LoopDevice::create(uint64_t size_bytes, const std::string& dir) {
    LoopDevice d;
    std::string tmpl = dir + "/perfbpf-loop.XXXXXX";
    if (!mkdtemp(tmpl.data())) return fail_errno("mkdtemp " + tmpl, errno);
    d.dir_ = tmpl;
    d.backing_ = d.dir_ + "/backing.img";
    UniqueFd file(::open(d.backing_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!file.valid()) return fail_errno("create " + d.backing_, errno);
    if (::ftruncate(file.get(), static_cast<off_t>(size_bytes)) != 0)
        return fail_errno("size " + d.backing_, errno);

    UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!control.valid()) return fail_errno("open /dev/loop-control", errno);
    // Another process may take the free device first: try a few times.
    for (int attempt = 0; attempt < 8; ++attempt) {
        int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
        if (n < 0) return fail_errno("LOOP_CTL_GET_FREE", errno);
        std::string dev = "/dev/loop" + std::to_string(n);
        UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
        if (!loop.valid()) return fail_errno("open " + dev, errno);
        loop_config config{};
        config.fd = static_cast<__u32>(file.get());
        config.info.lo_flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
        std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), d.backing_.c_str(),
                     LO_NAME_SIZE - 1);
        int rc = ::ioctl(loop.get(), LOOP_CONFIGURE, &config);
        if (rc != 0 && errno == EINVAL) {
            // The file's filesystem refuses direct I/O (tmpfs before 6.6): buffered.
            config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
            rc = ::ioctl(loop.get(), LOOP_CONFIGURE, &config);
        }
        if (rc == 0) {
            // AUTOCLEAR: the kernel detaches the device when its last opener closes it.
            // We hold it open for our lifetime, so even if we are killed it goes away.
            d.device_ = dev;
            d.fd_ = std::move(loop);
            return d;
        }
        if (errno != EBUSY) return fail_errno("LOOP_CONFIGURE " + dev, errno);
    }
    return fail("no free loop device (all taken while trying)");
}

LoopDevice::LoopDevice(LoopDevice&& o) noexcept
    : dir_(std::exchange(o.dir_, {})),
      backing_(std::exchange(o.backing_, {})),
      device_(std::exchange(o.device_, {})),
      fd_(std::move(o.fd_)) {}

LoopDevice& LoopDevice::operator=(LoopDevice&& o) noexcept {
    if (this != &o) {
        release();
        dir_ = std::exchange(o.dir_, {});
        backing_ = std::exchange(o.backing_, {});
        device_ = std::exchange(o.device_, {});
        fd_ = std::move(o.fd_);
    }
    return *this;
}

LoopDevice::~LoopDevice() {
    release();
}

void LoopDevice::release() {
    if (fd_.valid()) {
        // Detach now; if a filesystem still holds it, AUTOCLEAR detaches at its last close.
        ::ioctl(fd_.get(), LOOP_CLR_FD, 0);
        fd_.reset();
    }
    device_.clear();
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        dir_.clear();
    }
}

std::string LoopDevice::name() const {
    auto slash = device_.rfind('/');
    return slash == std::string::npos ? device_ : device_.substr(slash + 1);
}

namespace {

// Eight adjacent 4 KiB direct writes submitted together in descending order: the block
// layer plugs the submission, so each bio front-merges into the request of the one before.
int descending_aio_writes(int fd, void* buf, off_t base) {
    constexpr int kWrites = 8;
    aio_context_t ctx = 0;
    if (syscall(__NR_io_setup, kWrites, &ctx) != 0) return 1;
    iocb cbs[kWrites] = {};
    iocb* list[kWrites];
    for (int i = 0; i < kWrites; ++i) {
        cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
        cbs[i].aio_fildes = static_cast<__u32>(fd);
        cbs[i].aio_buf = reinterpret_cast<__u64>(buf);
        cbs[i].aio_nbytes = 4096;
        cbs[i].aio_offset = base + static_cast<off_t>((kWrites - 1 - i) * 4096);
        list[i] = &cbs[i];
    }
    int rc = 0;
    if (syscall(__NR_io_submit, ctx, kWrites, list) != kWrites) rc = 2;
    io_event events[kWrites];
    if (rc == 0 && syscall(__NR_io_getevents, ctx, kWrites, kWrites, events, nullptr) != kWrites)
        rc = 3;
    syscall(__NR_io_destroy, ctx);
    return rc;
}

}  // namespace

int block_io(const std::string& device, uint64_t bytes) {
    constexpr size_t kChunk = 1 << 20;
    UniqueFd fd(::open(device.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
    if (!fd.valid()) return 1;
    void* raw = nullptr;
    if (posix_memalign(&raw, 4096, kChunk) != 0) return 1;
    std::unique_ptr<void, decltype(&std::free)> buf(raw, &std::free);
    std::memset(buf.get(), 0x5a, kChunk);
    for (uint64_t off = 0; off < bytes; off += kChunk)
        if (::pwrite(fd.get(), buf.get(), kChunk, static_cast<off_t>(off)) !=
            static_cast<ssize_t>(kChunk))
            return 2;
    for (uint64_t off = 0; off < bytes; off += kChunk)
        if (::pread(fd.get(), buf.get(), kChunk, static_cast<off_t>(off)) !=
            static_cast<ssize_t>(kChunk))
            return 3;
    if (descending_aio_writes(fd.get(), buf.get(), static_cast<off_t>(bytes)) != 0) return 4;
    // Buffered pages written back by our own fsync: many page-sized bios in one plug,
    // merged at the back of each other.
    UniqueFd buffered(::open(device.c_str(), O_RDWR | O_CLOEXEC));
    if (!buffered.valid()) return 5;
    const off_t base = static_cast<off_t>(bytes + kChunk);
    if (::pwrite(buffered.get(), buf.get(), kChunk, base) != static_cast<ssize_t>(kChunk)) return 6;
    if (::fsync(buffered.get()) != 0) return 7;
    return 0;
}

}  // namespace perfbpf::selftest

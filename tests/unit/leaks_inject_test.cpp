// The pure parts of injecting the interposition library into a running process: the
// relocation scan the shim patches from (on a fixture ELF laid out as the loader would,
// and on this process's own libc), the call frame set up for an injected call, and which
// stopped threads may be made to call.
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../elf_relocs.h"
#include "leaks/inject.h"
#include "leaks/session_target.h"
#include "leaks_relocs.h"
#include "symbolize/proc_maps.h"
#include "util/files.h"

namespace perfbpf {
namespace {

std::string bin(const std::string& name) {
    return std::string(PERFBPF_FIXTURE_BIN_DIR) + "/" + name;
}

// The file's loadable segments copied to their addresses in one buffer, as the loader
// maps them, but with nothing relocated: the scanner must read the unrelocated dynamic
// section too.
struct LaidOut {
    std::vector<uint8_t> image;
    const ElfW(Dyn) * dyn = nullptr;
    uintptr_t base() const { return reinterpret_cast<uintptr_t>(image.data()); }
};

LaidOut lay_out(const std::string& path) {
    LaidOut l;
    auto bytes = read_file(path);
    if (!bytes) return l;
    const auto* eh = reinterpret_cast<const ElfW(Ehdr)*>(bytes->data());
    const auto* ph = reinterpret_cast<const ElfW(Phdr)*>(bytes->data() + eh->e_phoff);
    uint64_t top = 0;
    for (int i = 0; i < eh->e_phnum; ++i)
        if (ph[i].p_type == PT_LOAD) top = std::max<uint64_t>(top, ph[i].p_vaddr + ph[i].p_memsz);
    l.image.assign(top, 0);
    for (int i = 0; i < eh->e_phnum; ++i) {
        if (ph[i].p_type == PT_LOAD)
            std::memcpy(l.image.data() + ph[i].p_vaddr, bytes->data() + ph[i].p_offset,
                        ph[i].p_filesz);
        if (ph[i].p_type == PT_DYNAMIC)
            l.dyn = reinterpret_cast<const ElfW(Dyn)*>(l.image.data() + ph[i].p_vaddr);
    }
    return l;
}

using Found = std::map<std::string, std::set<uint64_t>>;
int collect(void* ctx, uintptr_t slot, const char* name, unsigned int) {
    (*static_cast<Found*>(ctx))[name].insert(slot);
    return 0;
}

TEST(LeaksRelocs, FixtureSlotsMatchTheSectionHeaders) {
    for (const char* name : {"leaky", "leaky_cpp", "libleaky_plugin.so"}) {
        SCOPED_TRACE(name);
        std::string path = bin(name);
        LaidOut l = lay_out(path);
        ASSERT_NE(l.dyn, nullptr);
        Found found;
        int n = leaks_scan_relocs(l.dyn, l.base(), collect, &found);
        auto want = test::relocs_from_sections(path);
        size_t total = 0;
        for (const auto& [sym, offsets] : want) total += offsets.size();
        EXPECT_EQ(static_cast<size_t>(n), total);
        for (const auto& [sym, offsets] : want) {
            std::set<uint64_t> rebased;
            for (uint64_t o : offsets) rebased.insert(o + l.base());
            EXPECT_EQ(found[sym], rebased) << sym;
        }
    }
    Found leaky;
    LaidOut l = lay_out(bin("leaky"));
    leaks_scan_relocs(l.dyn, l.base(), collect, &leaky);
    for (const char* fn : {"malloc", "calloc", "realloc", "posix_memalign", "strdup", "free"})
        EXPECT_EQ(leaky.count(fn), 1u) << fn;
}

TEST(LeaksRelocs, CppFixtureBindsOperatorNewNotMalloc) {
    // C++ allocations reach malloc through libstdc++'s own entries, which the shim patches
    // like any module's: the program binds operator new itself.
    LaidOut l = lay_out(bin("leaky_cpp"));
    Found found;
    leaks_scan_relocs(l.dyn, l.base(), collect, &found);
    EXPECT_EQ(found.count("_Znwm"), 1u);
    EXPECT_EQ(found.count("_Znam"), 1u);
}

struct LibcScan {
    uintptr_t malloc_slot = 0, relro_lo = 0, relro_hi = 0;
};

int scan_libc(dl_phdr_info* info, size_t, void* data) {
    std::string name = info->dlpi_name ? info->dlpi_name : "";
    if (name.find("/libc.so") == std::string::npos) return 0;
    auto* out = static_cast<LibcScan*>(data);
    const ElfW(Dyn)* dyn = nullptr;
    for (int i = 0; i < info->dlpi_phnum; ++i)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    Found found;
    leaks_scan_relocs(dyn, info->dlpi_addr, collect, &found);
    if (!found["malloc"].empty()) out->malloc_slot = *found["malloc"].begin();
    leaks_relro_range(info->dlpi_phdr, info->dlpi_phnum, info->dlpi_addr, 4096, &out->relro_lo,
                      &out->relro_hi);
    return 1;
}

TEST(LeaksRelocs, LibcOwnMallocEntryInThisProcess) {
    // glibc calls malloc through its own GOT (interposable), in a RELRO page: the entry
    // the shim must make writable for the store. Here the dynamic section is relocated.
    LibcScan s;
    dl_iterate_phdr(scan_libc, &s);
    ASSERT_NE(s.malloc_slot, 0u);
    EXPECT_EQ(*reinterpret_cast<void**>(s.malloc_slot), dlsym(RTLD_DEFAULT, "malloc"));
    EXPECT_GE(s.malloc_slot, s.relro_lo);
    EXPECT_LT(s.malloc_slot, s.relro_hi);
    auto maps = read_proc_maps(::getpid());
    ASSERT_TRUE(maps);
    auto text = read_file("/proc/self/maps");
    ASSERT_TRUE(text);
    bool read_only = false;
    for (auto line : split_fields(*text, "\n")) {
        auto m = parse_proc_maps(line);
        if (m.size() == 1 && s.malloc_slot >= m[0].start && s.malloc_slot < m[0].end)
            read_only = line.find(" r--p ") != std::string_view::npos;
    }
    EXPECT_TRUE(read_only);
}

TEST(LeaksRelocs, RelroRangeIsRoundedDownAtBothEnds) {
    ElfW(Phdr) ph[2] = {};
    ph[0].p_type = PT_LOAD;
    ph[1].p_type = PT_GNU_RELRO;
    ph[1].p_vaddr = 0x1cf8d0;
    ph[1].p_memsz = 0x3730;
    uintptr_t lo, hi;
    leaks_relro_range(ph, 2, 0x7f0000000000, 4096, &lo, &hi);
    EXPECT_EQ(lo, 0x7f00001cf000u);
    EXPECT_EQ(hi, 0x7f00001d3000u);  // the last partial page stays writable
    leaks_relro_range(ph, 1, 0, 4096, &lo, &hi);
    EXPECT_EQ(lo, 0u);
    EXPECT_EQ(hi, 0u);
}

namespace arch = inject_arch;

arch::Regs some_regs() {
    arch::Regs r{};
    r.rsp = 0x7ffd12345678;  // not aligned, as anywhere inside a function
    r.rip = 0x55550000abcd;
    r.rbx = 11;
    r.rbp = 12;
    r.r12 = 13;
    r.rax = static_cast<unsigned long long>(-512);  // -ERESTARTSYS: stopped in a syscall
    r.orig_rax = 35;                                // nanosleep
    r.eflags = 0x246 | 0x400;
    return r;
}

TEST(InjectCall, FrameFollowsTheCallingConvention) {
    const arch::Regs saved = some_regs();
    const uint64_t args[] = {1, 2, 3, 4, 5, 6};
    const arch::FrameLayout l = arch::plan_frame(saved, 836, 1024);
    arch::Regs r = arch::call_regs(saved, 0x7f0000001000, args, l.frame);
    EXPECT_EQ(r.rip, 0x7f0000001000u);
    EXPECT_EQ(r.rsp, l.frame);
    EXPECT_EQ(r.rsp % 16, 8u);  // as right after a call instruction
    // Frame head, FPU state, data area, red zone: in that order upwards, none overlapping.
    EXPECT_LE(l.frame + arch::kFrameHeadBytes, l.fpstate);
    EXPECT_EQ(l.fpstate % 64, 0u);  // as XRSTOR needs
    EXPECT_LE(l.fpstate + 836, l.data);
    EXPECT_EQ(l.data % 16, 0u);
    EXPECT_LE(l.data + 1024, saved.rsp - arch::kRedZoneBytes);  // red zone untouched
    EXPECT_EQ(r.rdi, 1u);
    EXPECT_EQ(r.rsi, 2u);
    EXPECT_EQ(r.rdx, 3u);
    EXPECT_EQ(r.rcx, 4u);
    EXPECT_EQ(r.r8, 5u);
    EXPECT_EQ(r.r9, 6u);
    EXPECT_EQ(r.rax, 0u);
    EXPECT_EQ(r.eflags & 0x400, 0u);  // direction flag clear
    // Neither restarted into the call nor run at a system-call entry stop.
    EXPECT_FALSE(arch::in_syscall(r));
}

arch::KernelUcontext ucontext_of(const std::vector<uint8_t>& head) {
    arch::KernelUcontext uc{};
    std::memcpy(&uc, head.data() + 8, sizeof(uc));
    return uc;
}

TEST(InjectCall, FrameRestoresTheInterruptedState) {
    const arch::Regs saved = some_regs();
    const std::vector<uint8_t> head = arch::frame_head(saved, 0x8000, 0x7ffd00001000, 0x7f00000abc);
    ASSERT_EQ(head.size(), arch::kFrameHeadBytes);
    uint64_t ret = 0;
    std::memcpy(&ret, head.data(), 8);
    EXPECT_EQ(ret, 0x7f00000abcu);
    const arch::KernelUcontext uc = ucontext_of(head);
    // Stopped in nanosleep with -ERESTARTSYS: the frame runs the system call again, as the
    // kernel's restart would.
    EXPECT_EQ(uc.mcontext.rip, saved.rip - 2);
    EXPECT_EQ(uc.mcontext.rax, 35u);
    EXPECT_EQ(uc.mcontext.rsp, saved.rsp);
    EXPECT_EQ(uc.mcontext.rbx, 11u);
    EXPECT_EQ(uc.mcontext.rbp, 12u);
    EXPECT_EQ(uc.mcontext.r12, 13u);
    EXPECT_EQ(uc.mcontext.eflags, saved.eflags);
    EXPECT_EQ(uc.mcontext.fpstate, 0x7ffd00001000u);
    EXPECT_EQ(uc.sigmask, 0x8000u);
    EXPECT_EQ(uc.stack_flags, arch::kKeepAltStack);  // the alternate stack left alone
    uint64_t errno_addr = 1;
    std::memcpy(&errno_addr, head.data() + arch::kErrnoAddrOffset, 8);
    EXPECT_EQ(errno_addr, 0u);  // not known yet: the return code leaves errno alone
    // A system call that completed, or code outside one, resumes as it was.
    for (long long rax : {0LL, -4LL}) {
        arch::Regs done = saved;
        done.rax = static_cast<unsigned long long>(rax);
        EXPECT_EQ(arch::resume_regs(done).rip, saved.rip) << rax;
        EXPECT_EQ(arch::resume_regs(done).rax, done.rax) << rax;
    }
    arch::Regs user = saved;
    user.orig_rax = ~0ULL;
    EXPECT_EQ(arch::resume_regs(user).rip, saved.rip);
    // A relative sleep (-ERESTART_RESTARTBLOCK) is issued again, not restart_syscall.
    arch::Regs block = saved;
    block.rax = static_cast<unsigned long long>(-516);
    EXPECT_EQ(arch::resume_regs(block).rax, 35u);
    // restart_syscall itself cannot run again after rt_sigreturn: EINTR, where it was.
    block.orig_rax = arch::kRestartSyscallNr;
    EXPECT_EQ(arch::resume_regs(block).rip, saved.rip);
    EXPECT_EQ(static_cast<int64_t>(arch::resume_regs(block).rax), -4);
}

TEST(InjectCall, FpStateSaysHowMuchFollows) {
    std::vector<uint8_t> image(1088, 0xab);
    const uint64_t bv = 0x7;  // x87, SSE, AVX
    std::memcpy(image.data() + 512, &bv, 8);
    std::vector<uint8_t> fp = arch::sigreturn_fpstate(image, 832);
    ASSERT_EQ(fp.size(), 836u);
    uint32_t magic1 = 0, extended = 0, size = 0, magic2 = 0;
    uint64_t features = 0;
    std::memcpy(&magic1, fp.data() + 464, 4);
    std::memcpy(&extended, fp.data() + 468, 4);
    std::memcpy(&features, fp.data() + 472, 8);
    std::memcpy(&size, fp.data() + 480, 4);
    std::memcpy(&magic2, fp.data() + 832, 4);
    EXPECT_EQ(magic1, 0x46505853u);
    EXPECT_EQ(size, 832u);
    EXPECT_EQ(extended, 836u);
    EXPECT_EQ(features, 7u);
    EXPECT_EQ(magic2, 0x46505845u);
    EXPECT_EQ(fp[100], 0xab);  // the registers themselves as read
    // An fxsave image (no XSAVE): restored as such, no magic.
    fp = arch::sigreturn_fpstate(std::span(image).first(512), 0);
    ASSERT_EQ(fp.size(), 512u);
    std::memcpy(&magic1, fp.data() + 464, 4);
    EXPECT_EQ(magic1, 0u);
    // A size past the image is not claimed.
    EXPECT_EQ(arch::sigreturn_fpstate(image, 4096).size(), 512u);
}

TEST(InjectCall, ReturnCodeStopsWhereTheTracerLooks) {
    // The stop is rt_sigreturn's entry, right after its syscall instruction.
    const size_t at = arch::kReturnStopOffset;
    EXPECT_EQ(arch::kReturnCode[at - 2], 0x0f);
    EXPECT_EQ(arch::kReturnCode[at - 1], 0x05);
    EXPECT_EQ(arch::kReturnCode[at - 7], 0xb8);  // mov $15,%eax
    EXPECT_EQ(arch::kReturnCode[at - 6], arch::kSigreturnNr);
    arch::Regs r = some_regs();
    r.rip = 0x7f0000200000 + at;
    r.orig_rax = arch::kSigreturnNr;
    r.rdi = 0xabc;  // the result, moved there from rax
    EXPECT_TRUE(arch::call_returned(r, 0x7f0000200000));
    EXPECT_EQ(arch::call_result(r), 0xabcu);
    EXPECT_FALSE(arch::call_returned(r, 0x7f0000300000));
    r.orig_rax = 39;
    EXPECT_FALSE(arch::call_returned(r, 0x7f0000200000));
}

TEST(InjectSafePoint, OnlyOutsideTheAllocatorAndLoader) {
    const std::vector<CodeRange> code = {{0x7f0000100000, 0x7f0000200000, "libc"},
                                         {0x7f0000400000, 0x7f0000420000, "the dynamic loader"},
                                         {0x7f0000500000, 0x7f0000505000, "perfbpf's shim"}};
    arch::Regs r{};
    r.orig_rax = ~0ULL;
    r.rip = 0x555500001000;  // the program's own code
    EXPECT_EQ(unsafe_spot(r, code), "");
    r.rip = 0x7f0000150000;  // running libc code: perhaps malloc, holding its lock
    EXPECT_NE(unsafe_spot(r, code), "");
    r.orig_rax = 35;  // nanosleep in libc: no allocator lock held there
    EXPECT_EQ(unsafe_spot(r, code), "");
    r.orig_rax = 202;  // futex: waiting for a lock, not holding the allocator's
    EXPECT_EQ(unsafe_spot(r, code), "");
    for (unsigned long long nr : {9, 10, 11, 12, 25, 28, 56, 435}) {  // the allocator's own
        r.orig_rax = nr;
        EXPECT_NE(unsafe_spot(r, code), "") << nr;
    }
    r.orig_rax = 0;  // even a read in the loader: it may hold the loader's lock
    r.rip = 0x7f0000410000;
    EXPECT_NE(unsafe_spot(r, code), "");
    r.rip = 0x7f0000501000;
    EXPECT_NE(unsafe_spot(r, code), "");
}

// The maps files a killed tracer leaves in /tmp are told apart by the pid in their name.
TEST(MapsFile, NameCarriesTheTracersPid) {
    EXPECT_EQ(maps_file_tracer("perfbpf-maps.4242.a1B2c3"), 4242);
    EXPECT_EQ(maps_file_tracer("perfbpf-maps.a1B2c3"), -1);  // the older form, no pid
    EXPECT_EQ(maps_file_tracer("perfbpf-maps.4242.a1B2c"), 0);
    EXPECT_EQ(maps_file_tracer("perfbpf-maps.0.a1B2c3"), 0);
    EXPECT_EQ(maps_file_tracer("perfbpf-maps.-5.a1B2c3"), 0);
    EXPECT_EQ(maps_file_tracer("perfbpf-maps.42x.a1B2c3"), 0);
    EXPECT_EQ(maps_file_tracer("perfbpf-maps."), 0);
    EXPECT_EQ(maps_file_tracer("other.4242.a1B2c3"), 0);
    EXPECT_EQ(maps_file_tracer("perfbpf-maps"), 0);
}

}  // namespace
}  // namespace perfbpf

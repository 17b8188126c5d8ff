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
#include "collect/leaks_inject.h"
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
    arch::CallFrame f = arch::prepare_call(saved, 0x7f0000001000, args, 1024);
    EXPECT_EQ(f.regs.rip, 0x7f0000001000u);
    EXPECT_EQ(f.regs.rsp % 16, 8u);  // as right after a call instruction
    EXPECT_EQ(f.return_slot, f.regs.rsp);
    EXPECT_EQ(f.data_addr % 16, 0u);
    EXPECT_GE(f.data_addr, f.regs.rsp + 8);
    EXPECT_LE(f.data_addr + 1024, saved.rsp - arch::kRedZoneBytes);  // red zone untouched
    EXPECT_EQ(f.regs.rdi, 1u);
    EXPECT_EQ(f.regs.rsi, 2u);
    EXPECT_EQ(f.regs.rdx, 3u);
    EXPECT_EQ(f.regs.rcx, 4u);
    EXPECT_EQ(f.regs.r8, 5u);
    EXPECT_EQ(f.regs.r9, 6u);
    EXPECT_EQ(f.regs.rax, 0u);
    EXPECT_EQ(f.regs.eflags & 0x400, 0u);  // direction flag clear
    // Not restarted into the call: the kernel's restart looks at orig_rax.
    EXPECT_FALSE(arch::in_syscall(f.regs));
    // The data area does not depend on the arguments: strings written once serve all calls.
    EXPECT_EQ(arch::prepare_call(saved, 1, {}, 1024).data_addr, f.data_addr);
}

TEST(InjectCall, SavedStateIsWhatRestartsTheSystemCall) {
    // The saved copy is what goes back: still in nanosleep, with -ERESTARTSYS, so the
    // kernel re-runs the system call the thread was stopped in.
    const arch::Regs saved = some_regs();
    arch::CallFrame f = arch::prepare_call(saved, 0x1000, {}, 64);
    EXPECT_NE(std::memcmp(&f.regs, &saved, sizeof(saved)), 0);
    EXPECT_TRUE(arch::in_syscall(saved));
    EXPECT_EQ(arch::syscall_nr(saved), 35);
    arch::Regs returned = f.regs;
    returned.rip = arch::kReturnAddress;
    returned.rax = 0xabc;
    EXPECT_TRUE(arch::call_returned(returned));
    EXPECT_EQ(arch::call_result(returned), 0xabcu);
    EXPECT_FALSE(arch::call_returned(saved));
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

}  // namespace
}  // namespace perfbpf

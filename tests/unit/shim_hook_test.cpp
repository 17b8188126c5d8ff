// The interposition library's hook must start with an instruction the kernel handles
// cheaply (a 5-byte nop: ≈0.26 µs per uprobe hit instead of ≈11-16 µs single-stepped).
#include <gtest/gtest.h>

#include "perfbpf/leaks.h"
#include "symbolize/elf_function.h"

namespace perfbpf {
namespace {

TEST(ShimHook, StartsWithFiveByteNop) {
    auto fn = find_elf_function(PERFBPF_SHIM_PATH, LEAKS_HOOK_SYMBOL);
    ASSERT_TRUE(fn) << fn.error().message;
    ASSERT_GE(fn->code.size(), 6u);
    const uint8_t nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    EXPECT_TRUE(std::equal(std::begin(nop5), std::end(nop5), fn->code.begin()));
    EXPECT_EQ(fn->code[5], 0xc3);  // ret: the hook does nothing else
    auto site = choose_probe_site(fn->code);
    EXPECT_EQ(site.offset, 0u);
    EXPECT_EQ(site.insn, "nop");
}

TEST(ShimHook, ExportsEveryAllocatorFunction) {
    for (const char* name :
         {"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
          "memalign", "valloc", "pvalloc", "mmap", "munmap"}) {
        EXPECT_TRUE(find_elf_function(PERFBPF_SHIM_PATH, name)) << name;
    }
}

TEST(ShimHook, ExportsTheInjectionEntryPoints) {
    // perfbpf finds them with dlsym in the target after its injected dlopen.
    EXPECT_TRUE(find_elf_function(PERFBPF_SHIM_PATH, LEAKS_ATTACH_SYMBOL));
    EXPECT_TRUE(find_elf_function(PERFBPF_SHIM_PATH, LEAKS_DETACH_SYMBOL));
}

}  // namespace
}  // namespace perfbpf

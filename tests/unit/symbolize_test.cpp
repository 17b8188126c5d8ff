// The symbolizer and probe placement on the fixture binaries and on glibc-like code.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "leaks/frames.h"
#include "support/fixtures.h"
#include "symbolize/elf_function.h"
#include "symbolize/proc_maps.h"
#include "symbolize/symbolizer.h"

namespace perfbpf {
namespace {

TEST(ProcMaps, ParsesPathsWithSpacesAndDeleted) {
    auto maps = parse_proc_maps(
        "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 123 /usr/bin/my prog\n"
        "55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 123 /usr/bin/my prog\n"
        "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
        "7f1000000000-7f1000001000 r-xp 00002000 08:01 9 /tmp/lib.so (deleted)\n"
        "garbage\n");
    ASSERT_EQ(maps.size(), 4u);
    EXPECT_EQ(maps[0].path, "/usr/bin/my prog");
    EXPECT_TRUE(maps[1].executable);
    EXPECT_EQ(maps[1].file_offset, 0x1000u);
    EXPECT_EQ(maps[2].path, "");
    EXPECT_EQ(maps[3].path, "/tmp/lib.so");
}

TEST(ProcMaps, SetKeepsUnmappedRangesAndReplacesOverlaps) {
    MappingSet set;
    set.merge(parse_proc_maps("1000-3000 r-xp 00000000 08:01 1 /a\n5000-6000 r-xp 0 08:01 2 /b\n"));
    set.merge(parse_proc_maps("2000-2800 r-xp 00000000 08:01 3 /c\n"));  // /b gone: kept
    ASSERT_NE(set.find(0x1800), nullptr);
    EXPECT_EQ(set.find(0x1800)->path, "/a");
    EXPECT_EQ(set.find(0x2400)->path, "/c");
    EXPECT_EQ(set.find(0x2900)->path, "/a");
    EXPECT_EQ(set.find(0x2900)->file_offset, 0x1800u);
    EXPECT_EQ(set.find(0x5800)->path, "/b");
    EXPECT_EQ(set.find(0x4000), nullptr);
}

TEST(Symbolizer, FixtureFunctionAndLineWithoutFramePointers) {
    auto fn = find_elf_function(test::fixture("leaky"), "leak_malloc");
    ASSERT_TRUE(fn) << fn.error().message;
    Symbolizer sym;
    // Somewhere inside the function: the function's name and a line of leaky.c.
    auto frames = sym.file(test::fixture("leaky"), fn->vaddr + 4, false);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().function, "leak_malloc");
    EXPECT_NE(frames.back().file.find("leaky.c"), std::string::npos);
    int malloc_line = test::marker_line("leaky.c", "LEAK:malloc");
    EXPECT_GE(frames.back().line, malloc_line - 3);
    EXPECT_LE(frames.back().line, malloc_line + 3);
}

TEST(Symbolizer, CppNamesAreDemangled) {
    auto fn = find_elf_function(test::fixture("leaky_cpp"), "_ZN4demo8leak_newEv");
    ASSERT_TRUE(fn) << fn.error().message;
    Symbolizer sym;
    auto frames = sym.file(test::fixture("leaky_cpp"), fn->vaddr + 1, false);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().function, "demo::leak_new()");
    EXPECT_EQ(demangle("_ZN4demo8leak_newEv"), "demo::leak_new()");
    EXPECT_EQ(demangle("malloc"), "malloc");
}

TEST(Symbolizer, RuntimeAddressThroughLoadBias) {
    auto fn = find_elf_function(test::fixture("leaky"), "leak_calloc");
    ASSERT_TRUE(fn);
    // A PIE loaded at 0x555555554000: its first mapping has file offset 0.
    MappingSet maps;
    maps.merge(parse_proc_maps("555555554000-555555560000 r-xp 00000000 08:01 7 " +
                               test::fixture("leaky") + "\n"));
    Symbolizer sym;
    auto frames = sym.user(0x555555554000 + fn->vaddr + 8, maps, true);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().function, "leak_calloc");
    EXPECT_EQ(frames.back().module, test::fixture("leaky"));
    EXPECT_EQ(frames.back().offset, fn->vaddr + 8);
}

TEST(Symbolizer, UnknownFileFallsBackToModuleOffset) {
    Symbolizer sym;
    auto frames = sym.file("/nonexistent/libgone.so", 0x1234, false);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].function, "libgone.so+0x1234");
    EXPECT_FALSE(frames[0].known);
}

TEST(Symbolizer, StackRoots) {
    EXPECT_TRUE(is_stack_root("_start"));
    EXPECT_TRUE(is_stack_root("__clone3"));
    EXPECT_FALSE(is_stack_root("main"));
}

TEST(KernelSymbols, LooksUpTheSymbolBelow) {
    auto k = KernelSymbols::parse(
        "ffffffff81000000 T _stext\nffffffff81001000 t do_one\nffffffff81002000 T two [mod]\n"
        "ffffffff81003000 d data_sym\n");
    EXPECT_EQ(k.size(), 3u);
    EXPECT_EQ(k.lookup(0xffffffff81001010).function, "do_one");
    EXPECT_EQ(k.lookup(0xffffffff81002fff).function, "two");
    EXPECT_EQ(k.lookup(0xffffffff81002fff).module, "mod");
    EXPECT_FALSE(k.lookup(0x10).known);
}

TEST(ProbeSite, SkipsGlibcFreeNullCheck) {
    // test %rdi,%rdi; je rel32; push %rbp
    const uint8_t free_code[] = {0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0, 0, 0, 0x55, 0x48};
    auto s = choose_probe_site(free_code);
    EXPECT_EQ(s.offset, 9u);
    EXPECT_TRUE(s.emulated);
    EXPECT_EQ(s.insn, "push");
}

TEST(ProbeSite, EntryPushAndRipCompare) {
    const uint8_t malloc_code[] = {0x41, 0x54, 0x55, 0x53};  // push %r12
    EXPECT_EQ(choose_probe_site(malloc_code).offset, 0u);
    EXPECT_TRUE(choose_probe_site(malloc_code).emulated);
    // cmpb $0,disp32(%rip); push %r12 (posix_memalign)
    const uint8_t pm_code[] = {0x80, 0x3d, 1, 2, 3, 4, 0, 0x41, 0x54};
    EXPECT_EQ(choose_probe_site(pm_code).offset, 7u);
    // cmpb; je rel8 (not after a NULL check); jmp: not skipped, entry is single-stepped
    const uint8_t ma_code[] = {0x80, 0x3d, 1, 2, 3, 4, 0, 0x74, 0x07, 0xe9, 0, 0, 0, 0};
    EXPECT_EQ(choose_probe_site(ma_code).offset, 0u);
    EXPECT_FALSE(choose_probe_site(ma_code).emulated);
}

TEST(ProbeSite, ProbesGlibcFreeOnEmulatedInstruction) {
    auto fn = find_elf_function("/lib/x86_64-linux-gnu/libc.so.6", "free");
    if (!fn) GTEST_SKIP() << fn.error().message;
    auto s = choose_probe_site(fn->code);
    EXPECT_TRUE(s.emulated) << "free's first bytes have no emulatable instruction reachable";
}

TEST(ElfFunction, MissingSymbolNamesFileAndSymbol) {
    auto fn = find_elf_function(test::fixture("leaky"), "no_such_function");
    ASSERT_FALSE(fn);
    EXPECT_NE(fn.error().message.find("no_such_function"), std::string::npos);
}

// ---- when a user stack is truncated, on synthetic frames ----

LeakStack stack_ending_at(const std::string& function, const std::string& module, uint64_t offset,
                          size_t depth = 4) {
    LeakStack s;
    s.ips.assign(depth, 0x1000);
    s.frames.push_back({"leak_here", "leak.c", 9, "/bin/prog", 0x1200, false});
    s.frames.push_back({function, "", 0, module, offset, false});
    return s;
}

uint64_t entries_of(const std::string& module) {
    return module == "/bin/prog" ? 0x25e0 : 0;  // a stripped PIE's e_entry
}

TEST(StackTruncation, StrippedBinaryReachingItsEntryFunctionIsWhole) {
    // _start has no symbol left: the frame is "prog+0x2605", 0x25 past the entry point.
    EXPECT_FALSE(
        user_stack_truncated(stack_ending_at("prog+0x2605", "/bin/prog", 0x2605), entries_of));
}

TEST(StackTruncation, StoppingElsewhereInAStrippedBinaryIsTruncated) {
    EXPECT_TRUE(
        user_stack_truncated(stack_ending_at("prog+0x3000", "/bin/prog", 0x3000), entries_of));
    // Before the entry point, and far past it.
    EXPECT_TRUE(
        user_stack_truncated(stack_ending_at("prog+0x25d0", "/bin/prog", 0x25d0), entries_of));
    EXPECT_TRUE(user_stack_truncated(
        stack_ending_at("prog+0x2620", "/bin/prog", 0x25e0 + kEntryFunctionSpan), entries_of));
    // A module whose entry point is unknown says nothing.
    EXPECT_TRUE(
        user_stack_truncated(stack_ending_at("lib+0x25f0", "/lib/libx.so", 0x25f0), entries_of));
}

TEST(StackTruncation, RootNamesEndAStackWhateverTheAddress) {
    for (const char* root : {"_start", "__libc_start_main", "__libc_start_call_main", "clone",
                             "clone3", "start_thread"})
        EXPECT_FALSE(
            user_stack_truncated(stack_ending_at(root, "/lib/libc.so.6", 0x99999), entries_of))
            << root;
}

TEST(StackTruncation, TheUnwindersOwnEndCountsWithoutSymbols) {
    // A thread's stack ending in stripped libc's clone3: only the unwinder knows.
    LeakStack s = stack_ending_at("libc.so.6+0x10a2c0", "/lib/libc.so.6", 0x10a2c0);
    EXPECT_TRUE(user_stack_truncated(s, entries_of));
    s.whole = true;
    EXPECT_FALSE(user_stack_truncated(s, entries_of));
}

TEST(StackTruncation, DepthLimitOrNothingIsTruncated) {
    EXPECT_TRUE(user_stack_truncated(stack_ending_at("main", "/bin/prog", 0x1300, 32), entries_of));
    LeakStack empty;
    EXPECT_TRUE(user_stack_truncated(empty, entries_of));
    LeakStack unsymbolized = stack_ending_at("_start", "/bin/prog", 0x2605);
    unsymbolized.frames.clear();
    EXPECT_TRUE(user_stack_truncated(unsymbolized, entries_of));
}

TEST(StackTruncation, ElfEntryReadsTheHeader) {
    EXPECT_NE(elf_entry("/proc/self/exe"), 0u);
    EXPECT_EQ(elf_entry("/proc/self/status"), 0u);
    EXPECT_EQ(elf_entry("/nonexistent"), 0u);
}

}  // namespace
}  // namespace perfbpf

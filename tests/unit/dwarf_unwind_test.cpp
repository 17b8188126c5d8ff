// The DWARF unwinder of growth mode on stacks recorded by a fixture built without frame
// pointers (growth_chain --record: its registers and stack slice, as the BPF program
// records them), and the choice between its stack and the frame-pointer walk.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "support/temp_dir.h"
#include "symbolize/dwarf_unwind.h"
#include "symbolize/proc_maps.h"
#include "symbolize/symbolizer.h"
#include "util/files.h"

namespace perfbpf {
namespace {

struct Recording {
    UserRegs regs;
    int tid = 0;
    std::vector<uint8_t> stack;
    MappingSet maps;
};

// Runs `fixture --record FILE` and reads what it wrote (layout: struct recorded_regs in
// tests/fixtures/growth_chain.c, then the stack bytes; FILE.maps).
Recording record(const std::string& fixture, const std::string& dir) {
    Recording r;
    const std::string file = dir + "/" + fixture + ".rec";
    const std::string cmd = test::fixture(fixture) + " --record " + file;
    const int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
    std::ifstream in(file, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    struct {
        uint64_t ip, sp, bp;
        uint32_t tid, stack_bytes;
    } head{};
    if (bytes.size() < sizeof(head)) {
        ADD_FAILURE() << "no recording in " << file;
        return r;
    }
    std::memcpy(&head, bytes.data(), sizeof(head));
    EXPECT_EQ(bytes.size(), sizeof(head) + head.stack_bytes);
    r.regs = {head.ip, head.sp, head.bp};
    r.tid = static_cast<int>(head.tid);
    r.stack.assign(bytes.begin() + sizeof(head), bytes.end());
    auto maps = read_file(file + ".maps");
    EXPECT_TRUE(maps);
    if (maps) r.maps.merge(parse_proc_maps(*maps));
    return r;
}

// The outermost (not inlined) function of each address, innermost first.
std::vector<std::string> functions(const std::vector<uint64_t>& ips, const MappingSet& maps,
                                   Symbolizer& sym) {
    std::vector<std::string> out;
    for (size_t i = 0; i < ips.size(); ++i) {
        auto frames = sym.user(ips[i], maps, i > 0);
        out.push_back(frames.empty() ? "" : frames.back().function);
    }
    return out;
}

UnwoundStack unwind_recording(const Recording& rec) {
    DwarfUnwinder unwinder;
    unwinder.add_modules(rec.maps);
    return unwinder.unwind(rec.tid, rec.regs, rec.stack, 32);
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& f : v) s += f + " ";
    return s;
}

TEST(DwarfUnwind, RecordedStackWithoutFramePointersReachesStart) {
    test::TempDir dir;
    Recording rec = record("growth_chain", dir.path());
    ASSERT_FALSE(rec.stack.empty());
    UnwoundStack st = unwind_recording(rec);
    Symbolizer sym;
    auto fns = functions(st.ips, rec.maps, sym);
    ASSERT_GE(fns.size(), 4u) << joined(fns);
    EXPECT_EQ(fns[0], "grow_inner") << joined(fns);
    EXPECT_EQ(fns[1], "grow_middle") << joined(fns);
    EXPECT_EQ(fns[2], "grow_outer") << joined(fns);
    EXPECT_EQ(fns[3], "main") << joined(fns);
    EXPECT_TRUE(st.whole) << joined(fns);
    EXPECT_EQ(fns.back(), "_start") << joined(fns);
}

TEST(DwarfUnwind, StrippedProgramUnwindsByEhFrameAlone) {
    test::TempDir dir;
    Recording rec = record("growth_chain_stripped", dir.path());
    ASSERT_FALSE(rec.stack.empty());
    UnwoundStack st = unwind_recording(rec);
    ASSERT_GE(st.ips.size(), 4u);
    EXPECT_TRUE(st.whole);
    // The twin with symbols has its code at the same addresses: name the frames by it.
    Symbolizer sym;
    const char* expected[] = {"grow_inner", "grow_middle", "grow_outer", "main"};
    for (size_t i = 0; i < 4; ++i) {
        const Mapping* m = rec.maps.find(st.ips[i]);
        ASSERT_NE(m, nullptr);
        EXPECT_NE(m->path.find("growth_chain_stripped"), std::string::npos) << m->path;
        auto vaddr = sym.file_vaddr(*m, st.ips[i]);
        ASSERT_TRUE(vaddr);
        auto frames = sym.file(test::fixture("growth_chain"), *vaddr, i > 0);
        ASSERT_FALSE(frames.empty());
        EXPECT_EQ(frames.back().function, expected[i]) << "frame " << i;
    }
}

TEST(DwarfUnwind, SliceTooShortStopsEarlyAndIsNotWhole) {
    test::TempDir dir;
    Recording rec = record("growth_chain", dir.path());
    ASSERT_GE(rec.stack.size(), 64u);
    DwarfUnwinder unwinder;
    unwinder.add_modules(rec.maps);
    // Without the stack, the return addresses cannot be read: only the first frame.
    UnwoundStack st = unwinder.unwind(rec.tid, rec.regs, {}, 32);
    EXPECT_FALSE(st.whole);
    ASSERT_EQ(st.ips.size(), 1u);
    EXPECT_EQ(st.ips[0], rec.regs.ip);
    // And a depth limit is a limit, not a whole stack.
    UnwoundStack two = unwinder.unwind(rec.tid, rec.regs, rec.stack, 2);
    EXPECT_EQ(two.ips.size(), 2u);
    EXPECT_FALSE(two.whole);
}

TEST(DwarfUnwind, UnknownCodeGivesOneFrame) {
    DwarfUnwinder unwinder;  // no modules
    std::vector<uint8_t> stack(64, 0);
    UnwoundStack st = unwinder.unwind(1, {0x1234, 0x7000, 0}, stack, 32);
    EXPECT_FALSE(st.whole);
    EXPECT_EQ(st.ips, std::vector<uint64_t>{0x1234});
}

TEST(PickSampleStack, DwarfUnlessFramePointersWentFurther) {
    const std::vector<uint64_t> fp = {0x10, 0x20, 0x30};
    UnwoundStack whole{{0x10, 0x40}, true};
    SampleStack a = pick_sample_stack(whole, fp, 0x99);
    EXPECT_EQ(a.ips, whole.ips);
    EXPECT_TRUE(a.whole);
    EXPECT_FALSE(a.from_frame_pointers);
    EXPECT_EQ(a.caller_candidate, 0u);

    UnwoundStack cut{{0x10}, false};
    SampleStack b = pick_sample_stack(cut, fp, 0x99);
    EXPECT_EQ(b.ips, fp);
    EXPECT_TRUE(b.from_frame_pointers);
    EXPECT_EQ(b.caller_candidate, 0x99u);
    EXPECT_FALSE(b.whole);

    UnwoundStack longer{{0x10, 0x50, 0x60, 0x70, 0x80}, false};
    SampleStack c = pick_sample_stack(longer, fp, 0x99);
    EXPECT_EQ(c.ips, longer.ips);
    EXPECT_FALSE(c.from_frame_pointers);

    SampleStack d = pick_sample_stack(cut, {}, 0);
    EXPECT_EQ(d.ips, cut.ips);
}

}  // namespace
}  // namespace perfbpf

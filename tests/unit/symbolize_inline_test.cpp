// Inlined frames against binutils: at each operator-new call site in leaky_inline's main
// (-O1 and -O2, where Server::accept, Session::Session and std::vector's allocation path
// are inlined), the symbolizer's frames are what `addr2line -i -f -C` prints.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "symbolize/symbolizer.h"

namespace perfbpf {
namespace {

std::string source() {
    return std::string(PERFBPF_FIXTURES_DIR) + "/leaky_inline.cpp";
}

int marker_line(const std::string& marker) {
    return test::marker_line("leaky_inline.cpp", marker);
}

std::vector<std::string> command_lines(const std::string& cmd) {
    std::vector<std::string> lines;
    std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
    if (!p) return lines;
    char buf[4096];
    while (std::fgets(buf, sizeof(buf), p.get())) {
        std::string s(buf);
        if (!s.empty() && s.back() == '\n') s.pop_back();
        lines.push_back(s);
    }
    return lines;
}

// Return addresses of main's calls to operator new (the leak sites), from objdump.
std::vector<uint64_t> new_call_returns(const std::string& path) {
    std::vector<uint64_t> out;
    bool in_main = false, after_new = false;
    for (const auto& l : command_lines("objdump -d --no-show-raw-insn " + path)) {
        if (l.ends_with(">:")) in_main = l.ends_with("<main>:");
        if (!in_main) continue;
        unsigned long long addr = 0;
        if (std::sscanf(l.c_str(), " %llx:", &addr) != 1) continue;
        if (after_new) out.push_back(addr);
        after_new =
            l.find("call") != std::string::npos && l.find("<_Znwm@plt>") != std::string::npos;
    }
    return out;
}

struct Frame {
    std::string function, file;
    int line = 0;
};

std::vector<Frame> addr2line(const std::string& path, uint64_t pc) {
    char a[32];
    std::snprintf(a, sizeof(a), "%llx", static_cast<unsigned long long>(pc));
    auto lines = command_lines("addr2line -i -f -C -e " + path + " " + a);
    std::vector<Frame> out;
    for (size_t i = 0; i + 1 < lines.size(); i += 2) {
        Frame f{lines[i], lines[i + 1], 0};
        if (auto colon = f.file.rfind(':'); colon != std::string::npos) {
            f.line = std::atoi(f.file.c_str() + colon + 1);
            f.file.resize(colon);
        }
        out.push_back(f);
    }
    return out;
}

// "ns::Class<T, U>::name<V>(args)" -> "name<V>": what binutils prints for a function
// DWARF gives no linkage name (internal linkage), its bare DW_AT_name.
std::string bare_name(const std::string& qualified) {
    std::string s = qualified;
    if (s.ends_with(")")) {
        int depth = 0;
        for (size_t i = s.size(); i-- > 0;) {
            depth += s[i] == ')' ? 1 : s[i] == '(' ? -1 : 0;
            if (depth == 0) {
                s.resize(i);
                break;
            }
        }
    }
    size_t start = 0;
    int depth = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] == '<' || s[i] == '(') depth++;
        if (s[i] == '>' || s[i] == ')') depth--;
        if (depth == 0 && s[i] == ':' && s[i + 1] == ':') start = i + 2;
    }
    return s.substr(start);
}

void expect_like_addr2line(const std::string& path, uint64_t ret) {
    SCOPED_TRACE(path + " return address 0x" + std::to_string(ret));
    Symbolizer sym;
    auto ours = sym.file(path, ret, true);
    auto theirs = addr2line(path, ret - 1);
    ASSERT_EQ(ours.size(), theirs.size());
    for (size_t i = 0; i < ours.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i) + ": " + ours[i].function);
        EXPECT_EQ(ours[i].file, theirs[i].file);
        EXPECT_EQ(ours[i].line, theirs[i].line);
        EXPECT_EQ(ours[i].inlined, i + 1 < ours.size());
        const std::string& want = theirs[i].function;
        // binutils names the innermost frame after the ELF symbol around the address
        // (the outermost function) when DWARF has no linkage name for it.
        const bool symbol_named = i == 0 && ours.size() > 1 && want == ours.back().function;
        EXPECT_TRUE(ours[i].function == want || bare_name(ours[i].function) == want || symbol_named)
            << ours[i].function << " vs addr2line's " << want;
    }
}

class InlinedFrames : public testing::TestWithParam<const char*> {};

TEST_P(InlinedFrames, EqualAddr2lineAtEachLeakSite) {
    const std::string path = test::fixture(GetParam());
    auto rets = new_call_returns(path);
    ASSERT_GE(rets.size(), 2u) << "no operator new calls in main of " << path;
    for (uint64_t r : rets) expect_like_addr2line(path, r);
}

// The buffer leak reads as valgrind shows it: the constructor's line, then accept's, then
// main's call, each in the fixture's source, however much std::vector code is inlined.
TEST_P(InlinedFrames, BufferLeakNamesSessionAcceptAndMain) {
    const std::string path = test::fixture(GetParam());
    const int buffer = marker_line("LEAK:buffer"), session = marker_line("LEAK:session"),
              call = marker_line("CALL:accept");
    Symbolizer sym;
    bool found = false;
    for (uint64_t r : new_call_returns(path)) {
        auto frames = sym.file(path, r, true);
        std::ostringstream chain;
        for (const auto& f : frames) chain << f.function << " " << f.file << ":" << f.line << "\n";
        for (size_t i = 0; i + 2 < frames.size(); ++i) {
            if (frames[i].function != "app::(anonymous namespace)::Session::Session") continue;
            found = true;
            EXPECT_TRUE(std::filesystem::equivalent(frames[i].file, source())) << chain.str();
            EXPECT_EQ(frames[i].line, buffer) << chain.str();
            EXPECT_EQ(frames[i + 1].function, "app::(anonymous namespace)::Server::accept");
            EXPECT_EQ(frames[i + 1].line, session) << chain.str();
            EXPECT_EQ(frames[i + 2].function, "main");
            EXPECT_EQ(frames[i + 2].line, call) << chain.str();
            EXPECT_FALSE(frames[i + 2].inlined);
        }
    }
    EXPECT_TRUE(found) << "no stack through Session::Session in " << path;
}

INSTANTIATE_TEST_SUITE_P(Levels, InlinedFrames,
                         testing::Values("leaky_inline_O1", "leaky_inline_O2"));

}  // namespace
}  // namespace perfbpf

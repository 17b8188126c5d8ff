// Every seed and every crash the fuzzers found (tests/fuzz/corpus, tests/fuzz/regressions)
// through the fuzz entry points, built with g++ like the rest: CI keeps fixed crashes fixed
// without clang. A crash here is a crash of the test binary (ASan reports it in build-asan).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../fuzz/entries.h"

namespace perfbpf::fuzz {
namespace {

namespace fs = std::filesystem;

size_t replay(const std::string& kind, const Entry& e) {
    const fs::path dir = fs::path(PERFBPF_FUZZ_DIR) / kind / e.name;
    size_t n = 0;
    if (!fs::exists(dir)) return 0;
    for (const auto& f : fs::directory_iterator(dir)) {
        if (!f.is_regular_file()) continue;
        std::ifstream in(f.path(), std::ios::binary);
        const std::string data(std::istreambuf_iterator<char>(in), {});
        SCOPED_TRACE(f.path().string());
        e.run(data);
        ++n;
    }
    return n;
}

TEST(FuzzInputs, EverySeedParsesWithoutCrashing) {
    for (const auto& e : kEntries) EXPECT_GT(replay("corpus", e), 0u) << e.name << " has no seed";
}

TEST(FuzzInputs, EveryRegressionInputParsesWithoutCrashing) {
    size_t total = 0;
    for (const auto& e : kEntries) total += replay("regressions", e);
    EXPECT_GT(total, 0u);
}

}  // namespace
}  // namespace perfbpf::fuzz

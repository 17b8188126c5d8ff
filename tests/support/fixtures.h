// The test fixtures of tests/fixtures: built programs and their sources. Shared by the
// unit and the kernel tests; each target defines where its fixtures are.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace perfbpf::test {

// A fixture program built from tests/fixtures (PERFBPF_FIXTURE_BIN_DIR/NAME).
inline std::string fixture(const std::string& name) {
    return std::string(PERFBPF_FIXTURE_BIN_DIR) + "/" + name;
}

// The leak tracer's interposition library this build made (next to build/perfbpf).
inline std::string shim_library() {
    return PERFBPF_SHIM_PATH;
}

// Line number of the first line of fixture source `source` (tests/fixtures/SOURCE) that
// contains `marker`, for checking symbolized frames against the source; -1 (and a test
// failure) when none does.
inline int marker_line(const std::string& source, const std::string& marker) {
    std::ifstream in(std::string(PERFBPF_FIXTURES_DIR) + "/" + source);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
        if (line.find(marker) != std::string::npos) return n;
    ADD_FAILURE() << "marker " << marker << " not in " << source;
    return -1;
}

}  // namespace perfbpf::test

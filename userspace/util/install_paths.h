// Where perfbpf finds the files it ships beside its binary, in the build tree and when
// installed (cmake --install, the .deb).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace perfbpf {

inline constexpr const char* kShimLibraryName = "libperfbpf_shim.so";

// The places the interposition library may be for the binary `exe`, in the order tried:
// next to it (the build tree: build/perfbpf, build/libperfbpf_shim.so), then
// <exe dir>/../lib/perfbpf/ (installed: /usr/bin/perfbpf, /usr/lib/perfbpf/).
std::vector<std::filesystem::path> shim_library_candidates(const std::filesystem::path& exe);

// The first candidate that exists; the error names every path tried.
Result<std::string> find_shim_library_for(const std::filesystem::path& exe);

}  // namespace perfbpf

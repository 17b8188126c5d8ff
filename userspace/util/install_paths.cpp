#include "util/install_paths.h"

namespace perfbpf {

std::vector<std::filesystem::path> shim_library_candidates(const std::filesystem::path& exe) {
    const auto dir = exe.parent_path();
    return {dir / kShimLibraryName,
            (dir / ".." / "lib" / "perfbpf" / kShimLibraryName).lexically_normal()};
}

Result<std::string> find_shim_library_for(const std::filesystem::path& exe) {
    std::string tried;
    for (const auto& candidate : shim_library_candidates(exe)) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
        tried += (tried.empty() ? "" : ", ") + candidate.string();
    }
    return fail("interposition library " + std::string(kShimLibraryName) +
                " is missing (looked at " + tried +
                "; it is built and installed with the perfbpf binary)");
}

}  // namespace perfbpf

#include "cli/finite.h"

#include <cmath>
#include <cstdlib>

namespace perfbpf::cli {

const CLI::Validator& finite_number() {
    static const CLI::Validator v(
        [](std::string& text) -> std::string {
            char* end = nullptr;
            const double d = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d))
                return "'" + text + "' is not a finite number";
            return {};
        },
        "FINITE", "FINITE");
    return v;
}

}  // namespace perfbpf::cli

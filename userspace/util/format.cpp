#include "util/format.h"

#include <cmath>
#include <cstdio>

namespace perfbpf {

std::string format_fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

std::string format_us(double us) {
    if (us < 1000) return format_fixed(us, 0) + " us";
    if (us < 10'000) return format_fixed(us / 1000, 1) + " ms";
    if (us < 1'000'000) return format_fixed(us / 1000, 0) + " ms";
    return format_fixed(us / 1e6, 1) + " s";
}

ScaledBytes scale_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = std::fabs(bytes);
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return {v, units[u]};
}

std::string format_bytes(double bytes) {
    const auto [v, unit] = scale_bytes(bytes);
    std::string sign = bytes < 0 ? "-" : "";
    return sign + (unit[0] == 'B' ? format_fixed(v, 0) : format_fixed(v, v < 10 ? 1 : 0)) + " " +
           unit;
}

std::string format_count(double n) {
    if (n < 1000) return format_fixed(n, 0);
    if (n < 1e6) return format_fixed(n / 1e3, n < 1e4 ? 1 : 0) + "k";
    if (n < 1e9) return format_fixed(n / 1e6, n < 1e7 ? 1 : 0) + "M";
    return format_fixed(n / 1e9, 1) + "G";
}

}  // namespace perfbpf

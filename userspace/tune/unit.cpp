#include "tune/unit.h"

#include <cmath>

#include "util/format.h"

namespace perfbpf::tune {
namespace {

// `decimals` places without trailing zeros.
std::string trimmed(double v, int decimals) {
    std::string s = format_fixed(v, decimals);
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s == "-0" ? "0" : s;
}

// Three significant digits without trailing zeros: 4, 1.5, 1.43, 24, 128, 1280.
std::string significant(double v) {
    const double a = std::fabs(v);
    return trimmed(v, a < 10 ? 2 : a < 100 ? 1 : 0);
}

std::string bytes(double v) {
    const auto [a, unit] = scale_bytes(v);
    return significant(v < 0 ? -a : a) + " " + unit;
}

// Whole percents from 10 % up (77 %), finer below (2.5 %, 0.12 %).
std::string percent(double pct) {
    const double a = std::fabs(pct);
    return trimmed(pct, a < 1 ? 2 : a < 10 ? 1 : 0) + " %";
}

}  // namespace

std::string format_quantity(double value, Unit unit) {
    switch (unit) {
        case Unit::none:
            return significant(value);
        case Unit::count:
            return std::fabs(value) < 10'000 ? format_fixed(std::round(value), 0)
                                             : format_count(value);
        case Unit::bytes:
            return bytes(value);
        case Unit::kib:
            return bytes(value * 1024);
        case Unit::share:
            return percent(value * 100);
        case Unit::pct:
            return percent(value);
        case Unit::us:
            return format_us(value);
        case Unit::ms_per_s:
            return significant(value) + " ms/s";
        case Unit::per_s:
            return significant(value) + "/s";
        case Unit::bytes_per_s:
            return bytes(value) + "/s";
        case Unit::cpus:
            return significant(value) + (value == 1 ? " CPU" : " CPUs");
    }
    return significant(value);
}

}  // namespace perfbpf::tune

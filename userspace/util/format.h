// Human-readable units shared by evidence lines and sinks.
#pragma once

#include <cstdint>
#include <string>

namespace perfbpf {

// 950 us, 18 ms, 1.2 s
std::string format_us(double us);
// 512 B, 1.5 KiB, 3.2 MiB, 1.0 GiB
std::string format_bytes(double bytes);
// |bytes| in its binary unit: 1536 -> {1.5, "KiB"}
struct ScaledBytes {
    double value;
    const char* unit;
};
ScaledBytes scale_bytes(double bytes);
// 1.5k, 2.3M
std::string format_count(double n);
// "%.*f" without trailing noise
std::string format_fixed(double v, int decimals);

}  // namespace perfbpf

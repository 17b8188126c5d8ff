// A PNG decoded to RGB pixels (8-bit RGB or RGBA, not interlaced: what chromium's
// --screenshot writes), for tests that look at what a browser drew.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/result.h"

namespace perfbpf::test {

struct RgbImage {
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> rgb;  // row-major, 3 bytes a pixel

    const uint8_t* at(uint32_t x, uint32_t y) const { return &rgb[(size_t{y} * width + x) * 3]; }
};

Result<RgbImage> read_png(const std::string& path);

}  // namespace perfbpf::test

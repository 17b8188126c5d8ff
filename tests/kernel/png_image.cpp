#include "png_image.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>

#include "util/files.h"

namespace perfbpf::test {
namespace {

uint32_t be32(const std::string& s, size_t at) {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

uint8_t paeth(int a, int b, int c) {
    const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

}  // namespace

Result<RgbImage> read_png(const std::string& path) {
    auto data = read_regular_file(path, size_t{256} << 20);
    if (!data) return std::unexpected(data.error());
    const std::string& s = *data;
    if (s.size() < 8 || s.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0)
        return fail(path + ": not a PNG");
    RgbImage img;
    unsigned channels = 0;
    std::string idat;
    for (size_t at = 8; at + 12 <= s.size();) {
        const uint32_t len = be32(s, at);
        const std::string type = s.substr(at + 4, 4);
        if (at + 12 + len > s.size()) return fail(path + ": truncated " + type + " chunk");
        if (type == "IHDR") {
            img.width = be32(s, at + 8);
            img.height = be32(s, at + 12);
            const int depth = static_cast<uint8_t>(s[at + 16]),
                      colour = static_cast<uint8_t>(s[at + 17]);
            const int interlace = static_cast<uint8_t>(s[at + 20]);
            if (depth != 8 || (colour != 2 && colour != 6) || interlace != 0)
                return fail(path + ": only 8-bit RGB(A) without interlace is read");
            channels = colour == 6 ? 4 : 3;
        } else if (type == "IDAT") {
            idat.append(s, at + 8, len);
        } else if (type == "IEND") {
            break;
        }
        at += 12 + len;
    }
    if (channels == 0 || img.width == 0 || img.height == 0) return fail(path + ": no image header");
    const size_t stride = size_t{img.width} * channels;
    std::vector<uint8_t> raw((stride + 1) * img.height);
    uLongf raw_len = raw.size();
    if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()),
                   idat.size()) != Z_OK ||
        raw_len != raw.size())
        return fail(path + ": image data does not inflate to its size");
    // Undo each row's filter in place (the previous row is already undone).
    for (size_t y = 0; y < img.height; ++y) {
        uint8_t* row = &raw[y * (stride + 1) + 1];
        const uint8_t* up = y ? &raw[(y - 1) * (stride + 1) + 1] : nullptr;
        const uint8_t filter = row[-1];
        for (size_t i = 0; i < stride; ++i) {
            const int a = i >= channels ? row[i - channels] : 0, b = up ? up[i] : 0;
            const int c = up && i >= channels ? up[i - channels] : 0;
            switch (filter) {
                case 0:
                    break;
                case 1:
                    row[i] = static_cast<uint8_t>(row[i] + a);
                    break;
                case 2:
                    row[i] = static_cast<uint8_t>(row[i] + b);
                    break;
                case 3:
                    row[i] = static_cast<uint8_t>(row[i] + (a + b) / 2);
                    break;
                case 4:
                    row[i] = static_cast<uint8_t>(row[i] + paeth(a, b, c));
                    break;
                default:
                    return fail(path + ": unknown row filter " + std::to_string(filter));
            }
        }
    }
    img.rgb.resize(size_t{img.width} * img.height * 3);
    for (size_t y = 0; y < img.height; ++y)
        for (size_t x = 0; x < img.width; ++x)
            std::memcpy(&img.rgb[(y * img.width + x) * 3],
                        &raw[y * (stride + 1) + 1 + x * channels], 3);
    return img;
}

}  // namespace perfbpf::test

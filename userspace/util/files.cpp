#include "util/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "util/fd.h"

namespace perfbpf {

namespace {

// Reads fd to EOF, from its position or (`from_start`) from offset 0 by pread; more than
// `max_bytes` is an error.
Result<std::string> read_all(int fd, const std::string& path, size_t max_bytes,
                             bool from_start = false) {
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = from_start ? ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))
                               : ::read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read " + path, errno);
        }
        if (n == 0) break;
        if (static_cast<size_t>(n) > max_bytes - out.size())
            return fail(path + " is larger than " + std::to_string(max_bytes) +
                        " bytes: refusing to read it");
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path, errno);
    return read_all(fd.get(), path, std::string().max_size());
}

Result<std::string> read_from_start(int fd, const std::string& path) {
    return read_all(fd, path, std::string().max_size(), true);
}

Result<std::string> read_regular_file(const std::string& path, size_t max_bytes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return fail_errno("open " + path, errno);
    return read_regular(fd.get(), path, max_bytes);
}

Result<std::string> read_regular(int fd, const std::string& path, size_t max_bytes) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return fail_errno("stat " + path, errno);
    if (!S_ISREG(st.st_mode)) return fail(path + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
        return fail(path + " is larger than " + std::to_string(max_bytes) +
                    " bytes: refusing to read it");
    return read_all(fd, path, max_bytes);
}

Result<std::string> first_line(Result<std::string> text) {
    if (!text) return text;
    auto nl = text->find('\n');
    if (nl != std::string::npos) text->resize(nl);
    return text;
}

Result<std::string> read_first_line(const std::string& path) {
    return first_line(read_file(path));
}

Result<void> write_file(const std::string& path, std::string_view content) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path + " for writing", errno);
    return write_all(fd.get(), path, content);
}

Result<void> write_all(int fd, const std::string& path, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write " + path, errno);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<uint64_t> parse_u64(std::string_view text) {
    text = trim(text);
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
        return fail("not a number: '" + std::string(text) + "'");
    return v;
}

std::vector<std::string_view> split_fields(std::string_view text, std::string_view seps) {
    std::vector<std::string_view> out;
    if (seps.size() == 1) {
        // One separator (lines): memchr finds the next quickly.
        size_t i = 0;
        while (i < text.size()) {
            size_t end = text.find(seps[0], i);
            if (end == std::string_view::npos) end = text.size();
            if (end > i) out.push_back(text.substr(i, end - i));
            i = end + 1;
        }
        return out;
    }
    // Several: a byte table. find_first_of/find_first_not_of call memchr over the set for
    // every character, which was 5 % of the daemon's own CPU (the /proc files it parses each
    // interval are a few KiB of short fields).
    std::array<bool, 256> sep{};
    for (char c : seps) sep[static_cast<unsigned char>(c)] = true;
    const char* p = text.data();
    const char* const end = p + text.size();
    while (p < end) {
        while (p < end && sep[static_cast<unsigned char>(*p)]) ++p;
        const char* start = p;
        while (p < end && !sep[static_cast<unsigned char>(*p)]) ++p;
        if (p > start) out.emplace_back(start, static_cast<size_t>(p - start));
    }
    return out;
}

std::string_view trim(std::string_view text) {
    const std::string_view ws = " \t\r\n";
    size_t b = text.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = text.find_last_not_of(ws);
    return text.substr(b, e - b + 1);
}

}  // namespace perfbpf

#include "probes/libbpf_log.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace perfbpf {
namespace {

thread_local std::string* g_capture = nullptr;
thread_local std::string g_buffer;

int print_fn(enum libbpf_print_level level, const char* fmt, va_list args) {
    // Verifier logs arrive as one message of many KiB: size the buffer to fit.
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    if (n < 0) return 0;
    std::string text(static_cast<size_t>(n) + 1, '\0');
    std::vsnprintf(text.data(), text.size(), fmt, args);
    text.resize(static_cast<size_t>(n));
    std::string_view msg(text);
    if (g_capture) g_capture->append(msg);
    while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
    if (level == LIBBPF_WARN)
        spdlog::debug("{}", msg);  // failures are reported by the caller with context
    else
        spdlog::trace("{}", msg);
    return n;
}

}  // namespace

void install_libbpf_logging() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(print_fn); });
}

LogCapture::LogCapture() {
    install_libbpf_logging();
    g_buffer.clear();
    g_capture = &g_buffer;
}

LogCapture::~LogCapture() {
    g_capture = nullptr;
}

const std::string& LogCapture::text() const {
    return g_buffer;
}

}  // namespace perfbpf

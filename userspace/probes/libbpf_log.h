// Routes libbpf's messages to spdlog (debug) and, while a LogCapture is alive on this
// thread, into a buffer, so a failed load can report the verifier's own words.
#pragma once

#include <string>

namespace perfbpf {

// Installs the libbpf print callback once; safe to call many times.
void install_libbpf_logging();

class LogCapture {
  public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    const std::string& text() const;
};

}  // namespace perfbpf

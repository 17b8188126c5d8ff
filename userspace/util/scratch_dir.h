// A directory under /tmp that lives as long as the object: for tests and benchmarks that
// need a state directory of their own.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace perfbpf {

class ScratchDir {
  public:
    // prefix: what `ls /tmp` shows, so a leftover says who made it.
    explicit ScratchDir(const std::string& prefix) {
        std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
        if (mkdtemp(tmpl.data())) path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    // Empty when mkdtemp failed.
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace perfbpf

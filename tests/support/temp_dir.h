// A fresh directory under /tmp for one test, removed with everything in it afterwards.
// Shared by the unit and the kernel tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace perfbpf::test {

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/perfbpf-test.XXXXXX";
        if (mkdtemp(tmpl)) path_ = tmpl;
    }
    ~TempDir() {
        if (path_.empty()) return;
        std::error_code ec;  // a test that already removed it must not throw here
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace perfbpf::test

// A fresh directory under /tmp for one test, removed with everything in it afterwards.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace perfbpf::test {

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/perfbpf-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

}  // namespace perfbpf::test

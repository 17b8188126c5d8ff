// One range of a process's address space as /proc/PID/maps lists it. Here, below
// symbolize/ (which reads and merges them) and detect/ (which picks the leak scan's roots
// from them), because detect/ reads no files.
#pragma once

#include <cstdint>
#include <string>

namespace perfbpf {

struct Mapping {
    uint64_t start = 0;
    uint64_t end = 0;
    uint64_t file_offset = 0;
    bool executable = false;
    bool readable = false;
    bool writable = false;
    std::string path;  // "" for anonymous; "[vdso]", "[heap]" as the kernel names them
    bool is_file() const { return !path.empty() && path[0] == '/'; }
};

}  // namespace perfbpf

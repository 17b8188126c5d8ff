// Where a stopped thread may be made to call a function (leaks/inject.cpp). Pure
// and header-only, so unit tests use it without the kernel library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leaks/inject_x86_64.h"

namespace perfbpf {

// Code a thread must not be stopped in to be made to call (libc, the dynamic loader, the
// shim): [lo, hi) of an executable mapping.
struct CodeRange {
    uint64_t lo = 0, hi = 0;
    std::string what;  // "libc", "the dynamic loader", "perfbpf's shim"
};

// "" when a thread stopped with `regs` may be made to call a function, else why not. In
// libc it may only be stopped in a system call the allocator does not make (a sleep, a
// read, a futex wait: it holds none of the allocator's locks there); never in the dynamic
// loader (it may hold the loader's lock) or the shim (its own locks).
inline std::string unsafe_spot(const inject_arch::Regs& regs, const std::vector<CodeRange>& code) {
    namespace arch = inject_arch;
    const uint64_t ip = arch::instruction_pointer(regs);
    for (const auto& c : code) {
        if (ip < c.lo || ip >= c.hi) continue;
        if (c.what != "libc") return "in " + c.what;
        if (!arch::in_syscall(regs)) return "running libc code (perhaps the allocator)";
        if (arch::allocator_syscall(arch::syscall_nr(regs)))
            return "in system call " + std::to_string(arch::syscall_nr(regs)) +
                   " from libc (perhaps inside the allocator)";
        return {};
    }
    return {};
}

}  // namespace perfbpf

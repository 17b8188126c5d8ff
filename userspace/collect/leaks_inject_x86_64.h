// The x86-64 part of making a stopped thread call a function (collect/leaks_inject.cpp):
// the register set, the SysV call set-up, how a call's return is recognised, and what the
// interrupted thread was doing. Pure: unit-tested without a process.
#pragma once

#include <elf.h>
#include <sys/user.h>

#include <cstdint>
#include <span>

namespace perfbpf::inject_arch {

using Regs = user_regs_struct;

// The full FPU/SSE/AVX state (the callee is free to clobber it; the interrupted code is
// not), read and written with PTRACE_GETREGSET/SETREGSET.
constexpr int kExtendedStateNote = NT_X86_XSTATE;
constexpr int kFpStateNote = NT_PRFPREG;  // the fxsave part, where XSTATE is not offered

// The return address of an injected call: page 0 is never mapped, so the return faults
// with the instruction pointer at 0 and the tracer gets the thread back (SIGSEGV).
constexpr uint64_t kReturnAddress = 0;

// The interrupted code may keep data in the 128 bytes below its stack pointer.
constexpr uint64_t kRedZoneBytes = 128;

struct CallFrame {
    Regs regs;                 // what the thread runs the call with
    uint64_t data_addr = 0;    // where `data_bytes` of arguments (strings) go
    uint64_t return_slot = 0;  // where kReturnAddress must be written
};

// A call of `fn` with up to six integer arguments from the state `saved`, using the
// thread's own stack below the red zone: data area, then the return address, with the
// stack 16-byte aligned at the call as the ABI requires. orig_rax = -1, so that a system
// call the thread was stopped in is not restarted into the call (the saved registers
// restart it afterwards).
inline CallFrame prepare_call(const Regs& saved, uint64_t fn, std::span<const uint64_t> args,
                              uint64_t data_bytes) {
    CallFrame f;
    f.regs = saved;
    uint64_t sp = saved.rsp - kRedZoneBytes;
    sp = (sp - data_bytes) & ~uint64_t{15};
    f.data_addr = sp;
    sp -= 8;  // return address: at the callee's entry rsp % 16 == 8
    f.return_slot = sp;
    Regs& r = f.regs;
    r.rsp = sp;
    r.rip = fn;
    unsigned long long* slots[] = {&r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9};
    for (size_t i = 0; i < args.size() && i < 6; ++i) *slots[i] = args[i];
    r.rax = 0;                     // no vector registers for a variadic callee
    r.orig_rax = ~0ULL;            // not in a system call any more
    r.eflags &= ~uint64_t{0x400};  // DF clear at a call
    return f;
}

// The thread came back from the call (it faulted at the return address).
inline bool call_returned(const Regs& now) {
    return now.rip == kReturnAddress;
}
inline uint64_t call_result(const Regs& now) {
    return now.rax;
}

inline uint64_t instruction_pointer(const Regs& r) {
    return r.rip;
}
inline uint64_t stack_pointer(const Regs& r) {
    return r.rsp;
}

// Stopped in (or on the way out of) a system call, and which.
inline bool in_syscall(const Regs& r) {
    return static_cast<int64_t>(r.orig_rax) >= 0;
}
inline long syscall_nr(const Regs& r) {
    return static_cast<long>(r.orig_rax);
}

// System calls a thread makes from inside the allocator or while it holds its locks
// (brk, mmap, munmap, mprotect, madvise, mremap; fork holds every arena lock around
// clone), or on its way out: a thread stopped in one of them must not be made to call.
inline bool allocator_syscall(long nr) {
    switch (nr) {
        case 9:    // mmap
        case 10:   // mprotect
        case 11:   // munmap
        case 12:   // brk
        case 25:   // mremap
        case 28:   // madvise
        case 56:   // clone
        case 57:   // fork
        case 58:   // vfork
        case 60:   // exit
        case 231:  // exit_group
        case 435:  // clone3
            return true;
        default:
            return false;
    }
}

}  // namespace perfbpf::inject_arch

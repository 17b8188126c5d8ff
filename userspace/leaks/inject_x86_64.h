// The x86-64 part of making a stopped thread call a function (leaks/inject.cpp):
// the register set, the SysV call set-up, how a call's return is recognised, and what the
// interrupted thread was doing. Pure: unit-tested without a process.
#pragma once

#include <elf.h>
#include <sys/user.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace perfbpf::inject_arch {

using Regs = user_regs_struct;

// The full FPU/SSE/AVX state (the callee is free to clobber it; the interrupted code is
// not), read and written with PTRACE_GETREGSET/SETREGSET.
constexpr int kExtendedStateNote = NT_X86_XSTATE;
constexpr int kFpStateNote = NT_PRFPREG;  // the fxsave part, where XSTATE is not offered

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

// The interrupted code may keep data in the 128 bytes below its stack pointer.
constexpr uint64_t kRedZoneBytes = 128;

// Every injected call returns into code that restores the interrupted state by itself,
// with rt_sigreturn from a signal frame perfbpf wrote below the thread's stack pointer
// before the call: so a thread whose tracer dies at any moment of an injection resumes
// where it was stopped, registers, FPU state, signal mask and errno as they were. With the
// tracer alive, the rt_sigreturn's system-call stop is where it takes the call's result
// (and the thread) back.
//
// The frame at F (F % 16 == 8: the callee's stack pointer at entry, F holds its return
// address), as rt_sigreturn reads it at its rsp - 8:
//   F + 0    return address
//   F + 8    struct ucontext (the kernel's: flags, link, stack, sigcontext, 64-bit mask)
//   F + 312  errno's address in the thread (0: unknown yet), F + 320 errno's value
//   FP       the FPU state (64-byte aligned, above), then the call's data area, then the
//            interrupted code's red zone.
struct KernelSigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
        eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2, fpstate;
    uint64_t reserved[8];
};
static_assert(sizeof(KernelSigcontext) == 256);
struct KernelUcontext {
    uint64_t flags, link;
    uint64_t stack_sp;
    int32_t stack_flags, stack_pad;
    uint64_t stack_size;
    KernelSigcontext mcontext;
    uint64_t sigmask;
};
static_assert(sizeof(KernelUcontext) == 304);
constexpr uint64_t kErrnoAddrOffset = 8 + sizeof(KernelUcontext);  // from F
constexpr uint64_t kErrnoValueOffset = kErrnoAddrOffset + 8;
constexpr uint64_t kFrameHeadBytes = kErrnoValueOffset + 8;

// rt_sigreturn's sigaltstack update is skipped for an invalid mode (its error is ignored):
// the thread keeps its own alternate signal stack.
constexpr int32_t kKeepAltStack = 3;

// The return path, written into a page perfbpf maps in the target (position-independent;
// entered by `ret` with rsp = F + 8):
//   0:  mov %rax,%rdi              the call's result, for the tracer at the stop below
//   3:  mov 0x130(%rsp),%rdx       errno's address (F + 312)
//   11: test %rdx,%rdx; je 25
//   16: mov 0x138(%rsp),%ecx; mov %ecx,(%rdx)   errno restored
//   25: mov $15,%eax; syscall      rt_sigreturn: the interrupted state comes back
//   32: jmp 3                      a tracer skipped the rt_sigreturn and then died: again
constexpr uint8_t kReturnCode[] = {0x48, 0x89, 0xc7, 0x48, 0x8b, 0x94, 0x24, 0x30, 0x01,
                                   0x00, 0x00, 0x48, 0x85, 0xd2, 0x74, 0x09, 0x8b, 0x8c,
                                   0x24, 0x38, 0x01, 0x00, 0x00, 0x89, 0x0a, 0xb8, 0x0f,
                                   0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xe1};
static_assert(kErrnoAddrOffset - 8 == 0x130 && kErrnoValueOffset - 8 == 0x138);
// Where the thread stops (at rt_sigreturn's entry) when a call returned: the instruction
// pointer after the system call instruction.
constexpr uint64_t kReturnStopOffset = 32;
// libc's own rt_sigreturn (its signal restorer: mov $15,%rax; syscall), the return address
// of the calls made while perfbpf's page is not mapped (its mmap and munmap).
constexpr uint8_t kLibcRestorer[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
constexpr long kSigreturnNr = 15, kMmapNr = 9, kMunmapNr = 11;

struct FrameLayout {
    uint64_t frame = 0;    // F
    uint64_t fpstate = 0;  // the FPU state's copy
    uint64_t data = 0;     // the calls' data area (strings)
};

// Where the frame, FPU state (`fp_bytes`) and `data_bytes` go below the interrupted
// thread's stack pointer and red zone.
inline FrameLayout plan_frame(const Regs& saved, uint64_t fp_bytes, uint64_t data_bytes) {
    FrameLayout l;
    l.data = (saved.rsp - kRedZoneBytes - data_bytes) & ~uint64_t{15};
    l.fpstate = (l.data - fp_bytes) & ~uint64_t{63};
    l.frame = ((l.fpstate - kFrameHeadBytes) & ~uint64_t{15}) - 8;
    return l;
}

// The state the thread resumes in when it restores itself: the saved one, with a system
// call it was stopped in set to run again, as the kernel would on the way out of the stop
// (rt_sigreturn leaves no system call to restart). A call the kernel would resume through
// restart_syscall (a relative sleep) is issued again whole: it may sleep longer, never
// fail. One already resuming that way (stopped in restart_syscall itself, whose record
// rt_sigreturn clears) returns EINTR: injection avoids stopping a thread there.
constexpr long kRestartSyscallNr = 219;
inline Regs resume_regs(const Regs& saved) {
    Regs r = saved;
    if (!in_syscall(saved)) return r;
    if (syscall_nr(saved) == kRestartSyscallNr) {
        if (static_cast<int64_t>(saved.rax) == -516) r.rax = static_cast<uint64_t>(-4);
        return r;
    }
    switch (static_cast<int64_t>(saved.rax)) {
        case -512:  // ERESTARTSYS
        case -513:  // ERESTARTNOINTR
        case -514:  // ERESTARTNOHAND
        case -516:  // ERESTART_RESTARTBLOCK
            r.rax = saved.orig_rax;
            r.rip -= 2;  // the syscall instruction
            break;
        default:
            break;
    }
    return r;
}

// The first kFrameHeadBytes of the frame: `ret` as return address, the ucontext that
// restores `saved` (as resume_regs()) with signal mask `sigmask` and FPU state at
// `fpstate`; errno unknown yet.
inline std::vector<uint8_t> frame_head(const Regs& saved, uint64_t sigmask, uint64_t fpstate,
                                       uint64_t ret) {
    const Regs r = resume_regs(saved);
    KernelUcontext uc{};
    uc.stack_flags = kKeepAltStack;
    KernelSigcontext& m = uc.mcontext;
    m.r8 = r.r8, m.r9 = r.r9, m.r10 = r.r10, m.r11 = r.r11, m.r12 = r.r12, m.r13 = r.r13,
    m.r14 = r.r14, m.r15 = r.r15, m.rdi = r.rdi, m.rsi = r.rsi, m.rbp = r.rbp, m.rbx = r.rbx,
    m.rdx = r.rdx, m.rax = r.rax, m.rcx = r.rcx, m.rsp = r.rsp, m.rip = r.rip, m.eflags = r.eflags;
    m.cs = static_cast<uint16_t>(r.cs);
    m.ss = static_cast<uint16_t>(r.ss);
    m.fpstate = fpstate;
    uc.sigmask = sigmask;
    std::vector<uint8_t> out(kFrameHeadBytes, 0);
    std::memcpy(out.data(), &ret, 8);
    std::memcpy(out.data() + 8, &uc, sizeof(uc));
    return out;
}

// The FPU state of a ptrace image (NT_X86_XSTATE, or the 512-byte fxsave of NT_PRFPREG)
// as rt_sigreturn restores it: the fxsave area's software bytes say that `xstate_size`
// bytes of XSAVE state follow (features: those present in the image), and the second magic
// word ends it. An fxsave image is restored as such (no magic).
constexpr uint32_t kFxsaveBytes = 512, kXsaveMinBytes = 576, kSwBytesOffset = 464;
inline uint64_t xsave_features(std::span<const uint8_t> image) {
    uint64_t bv = 0;
    if (image.size() >= kXsaveMinBytes) std::memcpy(&bv, image.data() + kFxsaveBytes, 8);
    return bv | 3;  // x87 and SSE always
}
inline std::vector<uint8_t> sigreturn_fpstate(std::span<const uint8_t> image,
                                              uint32_t xstate_size) {
    std::vector<uint8_t> out(image.begin(), image.end());
    if (out.size() < kFxsaveBytes) out.resize(kFxsaveBytes, 0);
    std::memset(out.data() + kSwBytesOffset, 0, kFxsaveBytes - kSwBytesOffset);
    if (image.size() < kXsaveMinBytes || xstate_size < kXsaveMinBytes ||
        xstate_size > image.size()) {
        out.resize(kFxsaveBytes);
        return out;
    }
    out.resize(xstate_size);
    struct {
        uint32_t magic1, extended_size;
        uint64_t xfeatures;
        uint32_t xstate_size;
    } sw{0x46505853, xstate_size + 4, xsave_features(image), xstate_size};
    std::memcpy(out.data() + kSwBytesOffset, &sw, sizeof(sw));
    const uint32_t magic2 = 0x46505845;
    const auto* m = reinterpret_cast<const uint8_t*>(&magic2);
    out.insert(out.end(), m, m + 4);
    return out;
}

// The registers for a call of `fn` with up to six integer arguments from the state
// `from`, returning to the address at `frame` (F). orig_rax = -1, so that a system call
// the thread is stopped in is neither restarted into the call nor (at a system-call entry
// stop) run.
inline Regs call_regs(const Regs& from, uint64_t fn, std::span<const uint64_t> args,
                      uint64_t frame) {
    Regs r = from;
    r.rsp = frame;
    r.rip = fn;
    unsigned long long* slots[] = {&r.rdi, &r.rsi, &r.rdx, &r.rcx, &r.r8, &r.r9};
    for (size_t i = 0; i < args.size() && i < 6; ++i) *slots[i] = args[i];
    r.rax = 0;                     // no vector registers for a variadic callee
    r.orig_rax = ~0ULL;            // not in a system call any more
    r.eflags &= ~uint64_t{0x400};  // DF clear at a call
    return r;
}

// Stopped at the return path's rt_sigreturn entry: the call in `page` returned.
inline bool call_returned(const Regs& now, uint64_t page) {
    return now.rip == page + kReturnStopOffset && static_cast<long>(now.orig_rax) == kSigreturnNr;
}
inline uint64_t call_result(const Regs& now) {
    return now.rdi;
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

#include "leaks/inject.h"

#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "leaks/stopped_thread.h"
#include "symbolize/elf_function.h"
#include "util/files.h"

namespace perfbpf {

namespace arch = inject_arch;

namespace {

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The runtime address of `symbol` of the module mapped from `target_path`: its first
// mapping (file offset 0) is where its first segment, at address 0 in the file (as in any
// shared library the linker makes), was placed.
Result<uint64_t> module_symbol(const std::vector<Mapping>& maps, const std::string& target_path,
                               const std::string& file, const std::string& symbol) {
    uint64_t base = 0;
    bool found = false;
    for (const auto& m : maps)
        if (m.path == target_path && m.file_offset == 0 && (!found || m.start < base)) {
            base = m.start;
            found = true;
        }
    if (!found) return fail(target_path + " is not mapped");
    auto fn = find_elf_function(file, symbol);
    if (!fn) return std::unexpected(fn.error());
    return base + fn->vaddr;
}

// Where libc's signal restorer (mov $15,%rax; syscall) is in the target: searched in
// libc's code as mapped.
Result<uint64_t> find_restorer(int pid, const std::vector<Mapping>& maps,
                               const std::string& libc_target) {
    constexpr size_t kPattern = sizeof(arch::kLibcRestorer), kChunk = 256 * 1024;
    std::vector<uint8_t> buf(kChunk);
    for (const auto& m : maps) {
        if (m.path != libc_target || !m.executable) continue;
        for (uint64_t at = m.start; at < m.end;) {
            size_t n = std::min<uint64_t>(kChunk, m.end - at);
            iovec local{buf.data(), n}, remote{reinterpret_cast<void*>(at), n};
            if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n))
                return process_alive(pid) ? fail_errno("read libc's code in the target", errno)
                                          : fail(exited_message(pid));
            auto hit = std::search(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                                   std::begin(arch::kLibcRestorer), std::end(arch::kLibcRestorer));
            if (hit != buf.begin() + static_cast<std::ptrdiff_t>(n))
                return at + static_cast<uint64_t>(hit - buf.begin());
            if (n < kChunk) break;
            at += n - (kPattern - 1);  // a match across the chunk boundary
        }
    }
    return fail(libc_target + " has no signal restorer (mov $15,%rax; syscall) to return through");
}

std::vector<CodeRange> unsafe_code(const std::vector<Mapping>& maps, const std::string& libc_target,
                                   const std::string& shim_target) {
    std::vector<CodeRange> out;
    for (const auto& m : maps) {
        if (!m.executable || !m.is_file()) continue;
        std::string base = base_name(m.path);
        if (m.path == libc_target)
            out.push_back({m.start, m.end, "libc"});
        else if (base.starts_with("ld-linux") || base.starts_with("ld-") || base == "ld.so")
            out.push_back({m.start, m.end, "the dynamic loader"});
        else if (m.path == shim_target || base.starts_with("libperfbpf_shim"))
            out.push_back({m.start, m.end, "perfbpf's shim"});
    }
    return out;
}

// libc's path as the target names it, from the path perfbpf opens (/proc/PID/root/...).
std::string target_view(int pid, const std::string& host_path) {
    std::string prefix = "/proc/" + std::to_string(pid) + "/root";
    return host_path.starts_with(prefix + "/") ? host_path.substr(prefix.size()) : host_path;
}

Result<std::vector<Mapping>> target_maps(int pid) {
    auto maps = read_proc_maps(pid);
    if (!maps)
        return process_alive(pid) ? std::unexpected(maps.error()) : fail(exited_message(pid));
    return maps;
}

// Runs `body` with a thread of the target stopped at a safe point and armed (its calls
// return safely whether or not perfbpf is alive), errno kept.
template <class Body>
auto with_stopped_thread(int pid, const std::string& libc, const std::string& shim_target,
                         const InjectOptions& opts, Body body)
    -> decltype(body(std::declval<StoppedThread&>(), std::declval<const std::vector<Mapping>&>())) {
    auto maps = target_maps(pid);
    if (!maps) return std::unexpected(maps.error());
    const std::string libc_target = target_view(pid, libc);
    LibcEntries entries;
    for (auto [field, name] :
         {std::pair{&entries.errno_location, "__errno_location"}, std::pair{&entries.mmap, "mmap"},
          std::pair{&entries.munmap, "munmap"}}) {
        auto fn = module_symbol(*maps, libc_target, libc, name);
        if (!fn) return std::unexpected(fn.error());
        *field = *fn;
    }
    auto restorer = find_restorer(pid, *maps, libc_target);
    if (!restorer) return std::unexpected(restorer.error());
    entries.restorer = *restorer;
    auto thread = StoppedThread::stop_at_safe_point(
        pid, unsafe_code(*maps, libc_target, shim_target), *maps, opts.safe_point_timeout_ns);
    if (!thread) return std::unexpected(thread.error());
    StoppedThread& t = **thread;
    if (opts.on_phase) opts.on_phase(InjectPhase::Stopped);
    if (auto r = t.arm(entries, opts.call_timeout_ns); !r) return std::unexpected(r.error());
    if (opts.on_phase) opts.on_phase(InjectPhase::Armed);
    auto result = body(t, *maps);
    if (opts.on_phase) opts.on_phase(InjectPhase::Returned);
    t.finish();
    return result;
}

Result<leaks_shim_control> read_control(int pid, uint64_t addr) {
    leaks_shim_control c{};
    iovec local{&c, sizeof(c)}, remote{reinterpret_cast<void*>(addr), sizeof(c)};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof(c)))
        return process_alive(pid) ? fail_errno("read the shim's state in the target", errno)
                                  : fail(exited_message(pid));
    return c;
}

}  // namespace

std::string injection_blocker(int pid) {
#if !defined(__x86_64__)
    return "injection is implemented for x86-64 only";
#endif
    const std::string proc = "/proc/" + std::to_string(pid);
    if (auto scope = read_first_line("/proc/sys/kernel/yama/ptrace_scope"); scope && *scope == "3")
        return "ptrace is disabled on this host (kernel.yama.ptrace_scope = 3)";
    std::string tracer = status_field(proc + "/status", "TracerPid");
    if (!tracer.empty() && tracer != "0") {
        auto comm = read_first_line("/proc/" + tracer + "/comm");
        return "process " + std::to_string(pid) + " is already traced by pid " + tracer +
               (comm ? " (" + *comm + ")" : "");
    }
    std::string state = status_field(proc + "/status", "State");
    if (state.starts_with("T") || state.starts_with("t"))
        return "process " + std::to_string(pid) + " is stopped (" + state +
               "): injection needs it running";
    return {};
}

Result<InjectedShim> inject_shim(int pid, const std::string& libc, const InjectOptions& opts) {
    if (auto why = injection_blocker(pid); !why.empty()) return fail(why);
    if (opts.library.size() + opts.maps_file.size() + 64 > StoppedThread::kDataBytes)
        return fail("library path too long for injection: " + opts.library);
    const uint64_t start = now_ns();
    auto body = [&](StoppedThread& t, const std::vector<Mapping>& maps) -> Result<InjectedShim> {
        const std::string libc_target = target_view(pid, libc);
        auto dlopen_fn = module_symbol(maps, libc_target, libc, "dlopen");
        if (!dlopen_fn) return fail(libc_target + " has no dlopen (glibc before 2.34?)");
        auto dlerror_fn = module_symbol(maps, libc_target, libc, "dlerror");
        auto dlsym_fn = module_symbol(maps, libc_target, libc, "dlsym");
        if (!dlsym_fn) return std::unexpected(dlsym_fn.error());
        // Strings for the calls, in the data area below the thread's stack pointer.
        const uint64_t data = t.data_addr();
        std::string blob;
        auto put = [&](const std::string& s) {
            uint64_t at = data + blob.size();
            blob += s;
            blob.push_back('\0');
            return at;
        };
        const uint64_t lib_at = put(opts.library), attach_at = put(LEAKS_ATTACH_SYMBOL),
                       detach_at = put(LEAKS_DETACH_SYMBOL), rescan_at = put(LEAKS_RESCAN_SYMBOL),
                       maps_at = put(opts.maps_file);
        if (auto r = t.write(data, blob.data(), blob.size()); !r) return std::unexpected(r.error());
        auto handle =
            t.call(*dlopen_fn, {lib_at, RTLD_NOW | RTLD_LOCAL}, opts.call_timeout_ns, "dlopen");
        if (!handle) return std::unexpected(handle.error());
        if (!*handle) {
            std::string why = "unknown error";
            if (dlerror_fn) {
                auto msg = t.call(*dlerror_fn, {}, opts.call_timeout_ns, "dlerror");
                if (msg && *msg)
                    if (auto s = t.read_string(*msg, 300); s) why = *s;
            }
            return fail("dlopen in the target failed: " + why);
        }
        if (opts.on_phase) opts.on_phase(InjectPhase::Loaded);
        // dlsym takes the strings again: rewrite them (dlopen may have used the area).
        if (auto r = t.write(data, blob.data(), blob.size()); !r) return std::unexpected(r.error());
        auto attach_fn = t.call(*dlsym_fn, {*handle, attach_at}, opts.call_timeout_ns, "dlsym");
        auto detach_fn = t.call(*dlsym_fn, {*handle, detach_at}, opts.call_timeout_ns, "dlsym");
        auto rescan_fn = t.call(*dlsym_fn, {*handle, rescan_at}, opts.call_timeout_ns, "dlsym");
        if (!attach_fn) return std::unexpected(attach_fn.error());
        if (!detach_fn) return std::unexpected(detach_fn.error());
        if (!rescan_fn) return std::unexpected(rescan_fn.error());
        if (!*attach_fn || !*detach_fn || !*rescan_fn)
            return fail(opts.library + " in the target lacks " LEAKS_ATTACH_SYMBOL);
        if (auto r = t.write(data, blob.data(), blob.size()); !r) return std::unexpected(r.error());
        auto control = t.call(*attach_fn,
                              {LEAKS_SHIM_ABI, opts.max_stacks, opts.heartbeat_timeout_ms,
                               opts.maps_file.empty() ? 0 : maps_at},
                              opts.call_timeout_ns, LEAKS_ATTACH_SYMBOL);
        if (!control) return std::unexpected(control.error());
        InjectedShim shim;
        shim.pid = pid;
        shim.tid = t.tid();
        shim.control_addr = *control;
        shim.detach_fn = *detach_fn;
        shim.rescan_fn = *rescan_fn;
        auto c = read_control(pid, *control);
        if (!c) return std::unexpected(c.error());
        shim.control = *c;
        if (c->state != LEAKS_SHIM_ATTACHED) {
            std::string msg(c->message, strnlen(c->message, sizeof(c->message)));
            return fail("the shim in the target could not attach: " + msg);
        }
        return shim;
    };
    auto shim = with_stopped_thread(pid, libc, opts.library, opts, body);
    if (shim) shim->took_ns = now_ns() - start;
    return shim;
}

namespace {

// Makes a thread of the target call `fn()` in the shim; the control block after it.
Result<leaks_shim_control> call_shim(const InjectedShim& shim, const InjectOptions& opts,
                                     uint64_t fn, const char* what) {
    auto maps = target_maps(shim.pid);
    if (!maps) return std::unexpected(maps.error());
    std::string libc;
    for (const auto& m : *maps) {
        std::string base = base_name(m.path);
        if (m.is_file() &&
            (base.starts_with("libc.so") || (base.starts_with("libc-") && base.ends_with(".so")))) {
            libc = "/proc/" + std::to_string(shim.pid) + "/root" + m.path;
            break;
        }
    }
    if (libc.empty()) return fail("the target maps no C library any more");
    auto body = [&](StoppedThread& t, const std::vector<Mapping>&) -> Result<leaks_shim_control> {
        auto r = t.call(fn, {}, opts.call_timeout_ns, what);
        if (!r) return std::unexpected(r.error());
        return read_control(shim.pid, shim.control_addr);
    };
    return with_stopped_thread(shim.pid, libc, opts.library, opts, body);
}

}  // namespace

Result<leaks_shim_control> detach_shim(const InjectedShim& shim, const InjectOptions& opts) {
    return call_shim(shim, opts, shim.detach_fn, LEAKS_DETACH_SYMBOL);
}

Result<leaks_shim_control> rescan_shim(const InjectedShim& shim, const InjectOptions& opts) {
    return call_shim(shim, opts, shim.rescan_fn, LEAKS_RESCAN_SYMBOL);
}

Result<leaks_shim_control> read_shim_control(const InjectedShim& shim) {
    return read_control(shim.pid, shim.control_addr);
}

Result<void> write_shim_heartbeat(const InjectedShim& shim, uint64_t beat) {
    uint64_t addr = shim.control_addr + offsetof(leaks_shim_control, heartbeat);
    iovec local{&beat, sizeof(beat)}, remote{reinterpret_cast<void*>(addr), sizeof(beat)};
    if (::process_vm_writev(shim.pid, &local, 1, &remote, 1, 0) != sizeof(beat))
        return fail_errno("write the heartbeat", errno);
    return {};
}

}  // namespace perfbpf

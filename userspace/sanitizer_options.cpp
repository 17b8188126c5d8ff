// Linked into perfbpf and the test binaries only in the PERFBPF_SANITIZE build (top-level
// CMakeLists.txt). The defaults make any run of a sanitized binary a strict one, whoever
// starts it and whatever it passes on (ctest, sudo without -E, the qemu guest, the .deb's
// fresh root); ASAN_OPTIONS / UBSAN_OPTIONS in the environment still override them.
#include <dlfcn.h>
#include <stdlib.h>

#include <string>

extern "C" {

// detect_leaks: a leak is a finding like any other. abort_on_error (with
// -fno-sanitize-recover=undefined): the first report ends the process by SIGABRT, which is not
// one of perfbpf's own exit statuses, so no caller can take it for a verdict.
const char* __asan_default_options() {
    return "detect_leaks=1:abort_on_error=1:strict_string_checks=1";
}
const char* __ubsan_default_options() {
    return "print_stacktrace=1:halt_on_error=1:abort_on_error=1";
}
}

namespace {

// g++ 12 links UBSan as a runtime of its own beside ASan's, and that runtime ignores
// UBSAN_OPTIONS=log_path (measured: the report still went to stderr, no file was written),
// though its own __sanitizer_set_report_path works. Without this, a UBSan report of a perfbpf
// a kernel test starts with its stderr captured would be seen by no one
// (tests/kernel/sanitizer_reports.cpp collects the files).
__attribute__((constructor)) void route_ubsan_reports() {
    const char* options = getenv("UBSAN_OPTIONS");
    if (!options) return;
    const std::string all = std::string(":") + options;
    const auto at = all.rfind(":log_path=");
    if (at == std::string::npos) return;
    const auto begin = at + std::string(":log_path=").size();
    const std::string path = all.substr(begin, all.find(':', begin) - begin);
    // dlsym on the library's own handle: the global name resolves to ASan's copy.
    void* ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!ubsan) return;
    using SetReportPath = void (*)(const char*);
    if (auto set = reinterpret_cast<SetReportPath>(dlsym(ubsan, "__sanitizer_set_report_path")))
        set(path.c_str());
    dlclose(ubsan);
}

}  // namespace

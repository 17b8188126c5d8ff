// In the PERFBPF_SANITIZE build, a sanitizer report of any process a kernel test starts fails
// the test run, also when the test keeps the child's stderr to itself or ignores its exit
// status (a daemon stopped by SIGTERM reports its leaks at exit, after the test has its
// answer). Children write their reports to a directory of this process's
// (ASAN_OPTIONS/UBSAN_OPTIONS log_path, which they inherit; userspace/sanitizer_options.cpp
// makes the UBSan runtime honour it); each test's new files are named with the test, and the
// run fails at its end with their contents. This process's own reports go to its stderr.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>

#include "support.h"

#if defined(__SANITIZE_ADDRESS__)

namespace perfbpf::test {
namespace {

namespace fs = std::filesystem;

std::string reports_dir;                   // "" until SetUp made it
std::map<std::string, std::string> found;  // report file -> the test it appeared in

// Names every report file not seen before with `test`.
void collect(const std::string& test) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(reports_dir, ec))
        found.try_emplace(entry.path().string(), test);
}

// Appends log_path to the options the children inherit (a later key wins), keeping the rest.
void route(const char* variable, const char* prefix) {
    const char* old = getenv(variable);
    std::string options = old && *old ? std::string(old) + ":" : "";
    options += "log_path=" + reports_dir + "/" + prefix;
    setenv(variable, options.c_str(), 1);
}

class ReportsDir : public testing::Environment {
  public:
    void SetUp() override {
        char tmpl[] = "/tmp/perfbpf-sanitizer.XXXXXX";
        if (!mkdtemp(tmpl)) {
            ADD_FAILURE() << "cannot create a directory for children's sanitizer reports from "
                          << tmpl << ": " << strerror(errno);
            return;
        }
        reports_dir = tmpl;
        // Sticky and writable by all, like /tmp: a child that drops privileges still reports.
        chmod(reports_dir.c_str(), 01777);
        route("ASAN_OPTIONS", "asan");
        route("UBSAN_OPTIONS", "ubsan");
    }

    void TearDown() override {
        if (reports_dir.empty()) return;
        collect("no test (after the last one)");
        for (const auto& [path, test] : found)
            ADD_FAILURE() << "sanitizer report of a process started by " << test << " (" << path
                          << "):\n"
                          << slurp(path);
        std::error_code ec;
        fs::remove_all(reports_dir, ec);
    }
};

class NameReports : public testing::EmptyTestEventListener {
  public:
    void OnTestEnd(const testing::TestInfo& test) override {
        if (!reports_dir.empty()) collect(std::string(test.test_suite_name()) + "." + test.name());
    }
};

// gtest owns both and runs the environment's SetUp before the first test.
[[maybe_unused]] const bool registered = [] {
    testing::AddGlobalTestEnvironment(new ReportsDir);
    testing::UnitTest::GetInstance()->listeners().Append(new NameReports);
    return true;
}();

}  // namespace
}  // namespace perfbpf::test

#endif

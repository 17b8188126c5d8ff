// SystemSource: what it takes from /proc without a probe.
#include "collect/system_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.h"

namespace perfbpf {
namespace {

SystemSample collect_once(SystemSource& source) {
    CollectContext ctx;
    ctx.interval_ns = 1'000'000'000;
    SnapshotBuilder b(ctx);
    source.collect(b);
    return b.system();
}

// The online CPUs come from the cpuN lines of /proc/stat (only online CPUs are listed),
// not from a sysfs file opened every interval.
TEST(SystemSource, OnlineCpusAreTheCpuLinesOfProcStat) {
    test::TempDir root;
    std::ofstream(root.path() + "/stat") << "cpu  10 0 10 100 0 0 0 0 0 0\n"
                                            "cpu0 5 0 5 50 0 0 0 0 0 0\n"
                                            "cpu1 5 0 5 50 0 0 0 0 0 0\n"
                                            "cpu5 0 0 0 0 0 0 0 0 0 0\n"
                                            "ctxt 100\n";
    SystemSource fake(root.path());
    EXPECT_EQ(collect_once(fake).ncpus, 3);

    SystemSource real("/proc");
    EXPECT_EQ(collect_once(real).ncpus, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
}

}  // namespace
}  // namespace perfbpf

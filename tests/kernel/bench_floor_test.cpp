// The benchmark's floor (bench/floor_load) must sit on exactly the hooks perfbpf attaches,
// one program per program of perfbpf's there, or its numbers are not the floor of ours.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support.h"

#ifdef PERFBPF_FLOOR_LOAD

namespace perfbpf::test {
namespace {

TEST(BenchFloor, AttachesWhereTopAttaches) {
    PERFBPF_REQUIRE_ROOT();
    int status = 0;
    const std::string out = run_command(PERFBPF_FLOOR_LOAD " --once 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
    const std::string marker = "programs:";
    const auto at = out.find(marker);
    ASSERT_NE(at, std::string::npos) << out;
    const auto begin = at + marker.size();
    std::istringstream list(out.substr(begin, out.find('\n', begin) - begin));
    std::vector<std::string> floor;
    for (std::string hook; list >> hook;) floor.push_back(hook);

    const auto doctor = nlohmann::json::parse(run_perfbpf("doctor --json 2>/dev/null", &status));
    std::vector<std::string> top;
    for (const auto& p : doctor.at("probes"))
        if (p.at("attached").get<bool>() && p.at("family") != "procfs")
            top.push_back(p.at("probe").get<std::string>());

    std::sort(floor.begin(), floor.end());
    std::sort(top.begin(), top.end());
    EXPECT_FALSE(top.empty());
    EXPECT_EQ(floor, top);
}

}  // namespace
}  // namespace perfbpf::test

#endif

// Which of a hook's tp_btf/raw_tp twins ProgramTable loads: opens the built block object
// (no load, nothing attached) and reads the autoload flags prepare() leaves.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "probes/bpf_object.h"

namespace perfbpf {
namespace {

struct ObjectDeleter {
    void operator()(bpf_object* o) const { bpf_object__close(o); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectDeleter>;

const std::vector<std::string> kTwinned = {"on_block_rq_issue",      "on_block_rq_requeue",
                                           "on_block_rq_complete",   "on_block_getrq",
                                           "on_block_bio_backmerge", "on_block_bio_frontmerge"};

ObjectPtr open_block() {
    return ObjectPtr(bpf_object__open_file(PERFBPF_SKEL_DIR "/block.bpf.o", nullptr));
}

bool autoload(bpf_object* obj, const std::string& program) {
    bpf_program* p = bpf_object__find_program_by_name(obj, program.c_str());
    EXPECT_NE(p, nullptr) << program;
    return p && bpf_program__autoload(p);
}

// The environment variable is the process's: restored whatever the test does.
struct NoTpBtfEnv {
    explicit NoTpBtfEnv(const char* value) {
        if (const char* v = std::getenv("PERFBPF_NO_TP_BTF")) saved = v;
        if (value)
            ::setenv("PERFBPF_NO_TP_BTF", value, 1);
        else
            ::unsetenv("PERFBPF_NO_TP_BTF");
    }
    ~NoTpBtfEnv() {
        if (saved.empty())
            ::unsetenv("PERFBPF_NO_TP_BTF");
        else
            ::setenv("PERFBPF_NO_TP_BTF", saved.c_str(), 1);
    }
    std::string saved;
};

TEST(TpBtfFallback, TableLoadsTpBtfAndFallsBackPerProgram) {
    NoTpBtfEnv env(nullptr);
    ProgramTable table("block");
    auto obj = open_block();
    ASSERT_TRUE(obj) << PERFBPF_SKEL_DIR "/block.bpf.o";
    table.prepare(obj.get());
    for (const auto& name : kTwinned) {
        EXPECT_TRUE(autoload(obj.get(), name)) << name;
        EXPECT_FALSE(autoload(obj.get(), name + "_raw")) << name;
    }
    EXPECT_FALSE(table.reload_needed());

    // The verifier rejected one tp_btf program: the next attempt loads its twin instead,
    // the others stay tp_btf. A program without a twin, or one already fallen back, is not
    // a fallback (the loader then drops it as before).
    EXPECT_TRUE(table.fall_back("on_block_rq_complete", "verifier: test"));
    EXPECT_FALSE(table.fall_back("on_block_rq_complete", "again"));
    EXPECT_FALSE(table.fall_back("on_block_rq_complete_raw", "no twin"));
    obj = open_block();
    ASSERT_TRUE(obj);
    table.prepare(obj.get());
    EXPECT_FALSE(autoload(obj.get(), "on_block_rq_complete"));
    EXPECT_TRUE(autoload(obj.get(), "on_block_rq_complete_raw"));
    EXPECT_TRUE(autoload(obj.get(), "on_block_rq_issue"));
    EXPECT_FALSE(autoload(obj.get(), "on_block_rq_issue_raw"));
}

TEST(TpBtfFallback, EnvironmentForcesEveryRawTpTwin) {
    NoTpBtfEnv env("1");
    ProgramTable table("block");
    auto obj = open_block();
    ASSERT_TRUE(obj);
    table.prepare(obj.get());
    for (const auto& name : kTwinned) {
        EXPECT_FALSE(autoload(obj.get(), name)) << name;
        EXPECT_TRUE(autoload(obj.get(), name + "_raw")) << name;
    }
    // Only "1" forces it.
    NoTpBtfEnv zero("0");
    ProgramTable other("block");
    obj = open_block();
    ASSERT_TRUE(obj);
    other.prepare(obj.get());
    EXPECT_TRUE(autoload(obj.get(), "on_block_rq_issue"));
    EXPECT_FALSE(autoload(obj.get(), "on_block_rq_issue_raw"));
}

}  // namespace
}  // namespace perfbpf

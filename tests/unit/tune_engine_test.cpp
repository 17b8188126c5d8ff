// The tune engine on a fake sysfs tree with synthetic snapshots: apply, verify (keep or
// revert), back-off, override detection, dry run, strict scope filter, stop, rollback.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tune/engine.h"
#include "util/files.h"

namespace perfbpf::tune {
namespace {

namespace fs = std::filesystem;

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/perfbpf-engine.XXXXXX";
        root_ = mkdtemp(tmpl);
        put("queue/read_ahead_kb", "128");
        put("queue/max_sectors_kb", "1280");
        put("queue/scheduler", "[none] mq-deadline");
        put("queue/rotational", "0");
        put("diskseq", "5");
        roots_.proc = root_ + "/proc";
        roots_.sys = root_ + "/sys";
        knobs_ = std::make_unique<Knobs>(roots_);
        auto j = Journal::open(root_ + "/state", "test");
        ASSERT_TRUE(j) << j.error().message;
        journal_ = std::make_unique<Journal>(std::move(*j));
    }
    void TearDown() override {
        journal_.reset();
        fs::remove_all(root_);
    }
    void put(const std::string& rel, const std::string& v) {
        fs::create_directories(fs::path(root_ + "/sys/block/loop3/" + rel).parent_path());
        std::ofstream(root_ + "/sys/block/loop3/" + rel) << v << "\n";
    }
    std::string ra() {
        return std::string(trim(read_file(root_ + "/sys/block/loop3/queue/read_ahead_kb").value()));
    }

    std::unique_ptr<Engine> engine(bool dry_run = false,
                                   std::vector<std::string> devices = {"loop3"}) {
        auto tuners = select_tuners({"block-io"}, {});
        EXPECT_TRUE(tuners);
        EngineOptions o;
        o.filter.devices = std::move(devices);
        o.window = 4;
        o.settle = 1;
        o.gate = GatePolicy{0, 60'000, 0};
        o.dry_run = dry_run;
        return std::make_unique<Engine>(*knobs_, std::move(*tuners), o);
    }
    // One second of sequential 128 KiB reads at `mib_per_s`.
    static Snapshot seq(double mib_per_s) {
        Snapshot s;
        s.interval_ns = 1'000'000'000;
        DeviceSample d;
        d.name = "loop3";
        d.read_ios = static_cast<uint64_t>(mib_per_s * 8);
        d.read_seq_ios = d.read_ios;
        d.read_bytes = static_cast<uint64_t>(mib_per_s * (1 << 20));
        d.read_lat_hist.add_us(300, d.read_ios);
        s.devices.push_back(d);
        return s;
    }
    // Feeds snapshots and collects the events.
    std::vector<EngineEvent> feed(Engine& e, const std::vector<double>& mib_per_s) {
        std::vector<EngineEvent> out;
        for (double v : mib_per_s) {
            auto ev = e.step(seq(v), *journal_, now_ms_ += 1000);
            EXPECT_TRUE(ev) << ev.error().message;
            if (ev) out.insert(out.end(), ev->begin(), ev->end());
        }
        return out;
    }
    static bool has(const std::vector<EngineEvent>& ev, EngineEvent::Kind k) {
        for (const auto& e : ev)
            if (e.kind == k) return true;
        return false;
    }
    const KnobRecord& record() {
        return journal_->state().knobs.at(
            {KnobKind::block_queue, "read_ahead_kb", Scope::device("loop3")});
    }

    std::string root_;
    KnobRoots roots_;
    std::unique_ptr<Knobs> knobs_;
    std::unique_ptr<Journal> journal_;
    int64_t now_ms_ = 0;
};

TEST_F(EngineTest, AppliesVerifiesAndKeepsAGain) {
    auto e = engine();
    auto ev = feed(*e, {200, 210, 190, 200});
    ASSERT_TRUE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "512");
    EXPECT_EQ(record().original, "128");
    EXPECT_EQ(record().outcome, Outcome::pending);
    ev = feed(*e, {0 /*settle*/, 600, 610, 590, 600});
    ASSERT_TRUE(has(ev, EngineEvent::Kind::kept));
    EXPECT_EQ(ra(), "512");
    EXPECT_EQ(record().outcome, Outcome::kept);
    EXPECT_DOUBLE_EQ(record().verification["target_before"].get<double>(), 200 * double(1 << 20));
    EXPECT_TRUE(e->kept().contains(record().id));
}

TEST_F(EngineTest, RevertsWithoutAGainAndBacksOff) {
    auto e = engine();
    feed(*e, {200, 210, 190, 200});
    ASSERT_EQ(ra(), "512");
    auto ev = feed(*e, {0, 205, 195, 200, 200});
    ASSERT_TRUE(has(ev, EngineEvent::Kind::reverted));
    EXPECT_EQ(ra(), "128");
    EXPECT_EQ(record().outcome, Outcome::reverted);
    EXPECT_TRUE(record().closed());
    // The same evidence again: the same change is backed off.
    ev = feed(*e, {200, 200, 200, 200, 200});
    EXPECT_FALSE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "128");
}

TEST_F(EngineTest, SomeoneElsesChangeIsRecordedAndLeftAlone) {
    auto e = engine();
    feed(*e, {200, 210, 190, 200});
    ASSERT_EQ(ra(), "512");
    put("queue/read_ahead_kb", "256");
    auto ev = feed(*e, {200});  // (once crashed: the journal changed under the loop)
    ASSERT_TRUE(has(ev, EngineEvent::Kind::overridden));
    EXPECT_EQ(record().outcome, Outcome::overridden);
    EXPECT_FALSE(e->verifying());
    feed(*e, {200, 200, 200, 200, 200});
    EXPECT_EQ(ra(), "256");
    auto rep = rollback(*journal_, *knobs_, {}, {}, "rollback");
    ASSERT_TRUE(rep);
    EXPECT_EQ(rep->restored, 0u);
    EXPECT_EQ(ra(), "256");
}

TEST_F(EngineTest, RollbackRestoresOriginalsAndIsIdempotent) {
    auto e = engine();
    feed(*e, {200, 210, 190, 200, 0, 600, 610, 590, 600});
    ASSERT_EQ(ra(), "512");
    auto rep = rollback(*journal_, *knobs_, {}, {}, "rollback");
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_EQ(rep->restored, 1u);
    EXPECT_EQ(ra(), "128");
    EXPECT_EQ(record().outcome, Outcome::rolled_back);
    auto again = rollback(*journal_, *knobs_, {}, {}, "rollback");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->restored + again->already + again->failures, 0u);
    // A filter that names another device leaves this one alone.
    feed(*e, {});
    auto st = status(journal_->state(), *knobs_, ScopeFilter{{}, {"loop9"}, {}, {}}, {});
    EXPECT_TRUE(st.empty());
    st = status(journal_->state(), *knobs_, {}, {});
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].current, "128");
}

TEST_F(EngineTest, DryRunWritesNothing) {
    auto e = engine(/*dry_run=*/true);
    auto ev = feed(*e, {200, 210, 190, 200});
    EXPECT_TRUE(has(ev, EngineEvent::Kind::would_apply));
    EXPECT_EQ(ra(), "128");
    EXPECT_EQ(journal_->state().records, 0u);
}

TEST_F(EngineTest, AFilterNamingOtherObjectsExcludesThisDevice) {
    auto e = engine(false, {"loop4"});
    auto ev = feed(*e, {200, 210, 190, 200, 200});
    EXPECT_TRUE(ev.empty());
    EXPECT_EQ(ra(), "128");
}

TEST_F(EngineTest, StoppingRevertsAnUnverifiedChange) {
    auto e = engine();
    feed(*e, {200, 210, 190, 200});
    ASSERT_EQ(ra(), "512");
    auto ev = e->stop(*journal_);
    ASSERT_TRUE(ev);
    EXPECT_TRUE(has(*ev, EngineEvent::Kind::reverted));
    EXPECT_EQ(ra(), "128");
    EXPECT_TRUE(record().closed());
}

TEST_F(EngineTest, PlanShowsTheJournalsOriginal) {
    auto e = engine();
    feed(*e, {200, 210, 190, 200, 0, 600, 610, 590, 600});
    ASSERT_EQ(ra(), "512");
    std::vector<Snapshot> w = {seq(600), seq(600), seq(600), seq(600)};
    put("queue/read_ahead_kb", "512");
    auto plan = e->plan(w, &journal_->state());
    // 512 KiB window, 128 KiB requests: the requests no longer fill it, so no proposal.
    EXPECT_TRUE(plan.empty());
    auto fresh = engine();
    put("queue/read_ahead_kb", "128");
    journal_.reset();
    auto plan2 = fresh->plan(w, nullptr);
    ASSERT_EQ(plan2.size(), 1u);
    EXPECT_EQ(plan2[0].original, "128");
    EXPECT_EQ(plan2[0].rec.proposed, "512");
    EXPECT_EQ(plan2[0].display, "/sys/block/loop3/queue/read_ahead_kb");
}

}  // namespace
}  // namespace perfbpf::tune

// The tune engine on a fake sysfs tree with synthetic snapshots: apply, verify (keep or
// revert), back-off, override detection, dry run, strict scope filter, stop, rollback,
// relief moves and notes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sinks/tune_sink.h"
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
    EXPECT_EQ(rep->in_journal, 1u);
    EXPECT_EQ(rep->left_alone_earlier, 1u);
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
    // The journal still holds the knob: the second rollback counts it as restored earlier.
    EXPECT_EQ(again->in_journal, 1u);
    EXPECT_EQ(again->restored_earlier, 1u);
    ASSERT_EQ(again->lines.size(), 1u);
    EXPECT_NE(again->lines[0].find("nothing to do: rolled-back earlier, at its original 128 KiB"),
              std::string::npos)
        << again->lines[0];
    // A filter that names another device leaves this one alone.
    feed(*e, {});
    auto st = status(journal_->state(), *knobs_, ScopeFilter{{}, {"loop9"}, {}, {}}, {});
    EXPECT_TRUE(st.empty());
    st = status(journal_->state(), *knobs_, {}, {});
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].current, "128");
}

// A kill between the change record and the knob write: the journal holds an open change
// the knob never saw. Status must report what is on the knob, not what was intended.
TEST_F(EngineTest, StatusReadsTheKnobAfterAKillBeforeTheWrite) {
    const KnobId id{KnobKind::block_queue, "read_ahead_kb", Scope::device("loop3")};
    auto who = knobs_->identity(id.scope);
    ASSERT_TRUE(who) << who.error().message;
    ASSERT_TRUE(journal_->original(id, "loop3 read_ahead_kb", *who, "128"));
    ASSERT_TRUE(
        journal_->change({id, "block-io", "128", "512", "sequential reads", "", "", "", {}}));
    ASSERT_EQ(ra(), "128");
    EXPECT_FALSE(record().closed());  // the journal alone would say changed

    auto st = status(journal_->state(), *knobs_, {}, {});
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].current, "128");
    EXPECT_FALSE(st[0].changed);
    EXPECT_NE(st[0].note.find("not applied"), std::string::npos) << st[0].note;
    auto j = tune_status_json(st, std::nullopt);
    EXPECT_EQ(j["changes"][0]["changed"], false);
    const std::string text = tune_status_text(st, std::nullopt);
    EXPECT_NE(text.find("0 knobs changed now"), std::string::npos) << text;
    EXPECT_NE(text.find("not applied"), std::string::npos) << text;

    // Once the value is on the knob, status says changed again.
    put("queue/read_ahead_kb", "512");
    st = status(journal_->state(), *knobs_, {}, {});
    ASSERT_EQ(st.size(), 1u);
    EXPECT_TRUE(st[0].changed);
    EXPECT_TRUE(st[0].note.empty());
    EXPECT_NE(tune_status_text(st, std::nullopt).find("1 knob changed now"), std::string::npos);
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

// A tuner that proposes what the test scripts, from the knob's current value.
class ScriptedTuner : public Tuner {
  public:
    using Script = std::function<std::optional<Recommendation>(int64_t current)>;
    explicit ScriptedTuner(const Script* script) : script_(script) {}
    std::string_view name() const override { return "scripted"; }
    std::string_view summary() const override { return "test"; }
    std::set<std::string> families() const override { return {}; }
    std::vector<KnobId> wants(const TunerInput&) const override { return {id()}; }
    std::vector<Recommendation> decide(const TunerInput& in) const override {
        auto cur = in.int_knob(id());
        if (!cur) return {};
        auto r = (*script_)(*cur);
        if (!r) return {};
        r->knob = id();
        r->current = std::to_string(*cur);
        return {*r};
    }
    static KnobId id() { return {KnobKind::block_queue, "read_ahead_kb", Scope::device("loop3")}; }

  private:
    const Script* script_;
};

// Major faults of the snapshot: lower is better.
Metric faults() {
    return {{"faults", Better::lower, 1}, [](const Snapshot& s) -> std::optional<double> {
                return double(s.system.major_faults);
            }};
}

Recommendation move(int64_t to, int direction, bool relief) {
    Recommendation r;
    r.proposed = std::to_string(to);
    r.direction = direction;
    r.reason = "scripted";
    r.target = faults();
    r.guard = faults();
    r.relief = relief;
    return r;
}

class ReliefTest : public EngineTest {
  protected:
    std::unique_ptr<Engine> engine() {
        std::vector<std::unique_ptr<Tuner>> t;
        t.push_back(std::make_unique<ScriptedTuner>(&script_));
        EngineOptions o;
        o.window = 4;
        o.settle = 1;
        o.gate = GatePolicy{60'000, 600'000, 300'000};
        return std::make_unique<Engine>(*knobs_, std::move(t), o);
    }
    std::vector<EngineEvent> feed_faults(Engine& e, const std::vector<uint64_t>& faults) {
        std::vector<EngineEvent> out;
        for (uint64_t f : faults) {
            Snapshot s;
            s.interval_ns = 1'000'000'000;
            s.system.major_faults = f;
            auto ev = e.step(s, *journal_, now_ms_ += 1000);
            EXPECT_TRUE(ev) << ev.error().message;
            if (ev) out.insert(out.end(), ev->begin(), ev->end());
        }
        return out;
    }
    ScriptedTuner::Script script_;
};

TEST_F(ReliefTest, PassesTheRateLimitAndHysteresisAndIsKeptUnverified) {
    auto e = engine();
    script_ = [](int64_t cur) -> std::optional<Recommendation> {
        if (cur != 128) return std::nullopt;
        return move(64, -1, false);
    };
    feed_faults(*e, {100, 100, 100, 100});
    ASSERT_EQ(ra(), "64");
    auto ev = feed_faults(*e, {0, 10, 10, 10, 10});
    ASSERT_TRUE(has(ev, EngineEvent::Kind::kept));
    // An ordinary raise now would undo a change of seconds ago: the gate holds it.
    script_ = [](int64_t cur) { return std::optional(move(cur * 2, +1, false)); };
    ev = feed_faults(*e, {10, 10, 10, 10});
    EXPECT_FALSE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "64");
    // The same raise as relief goes through at once and is kept without a verification.
    script_ = [](int64_t cur) { return std::optional(move(cur * 2, +1, true)); };
    ev = feed_faults(*e, {10});
    ASSERT_TRUE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "128");
    EXPECT_FALSE(e->verifying());
    EXPECT_EQ(record().outcome, Outcome::kept);
    EXPECT_EQ(record().to, "128");
    EXPECT_TRUE(e->kept().contains(record().id));
    // The next relief waits for the settle interval and a full window measured under the new
    // value, then passes the rate limit again.
    ev = feed_faults(*e, {10, 10, 10, 10});
    EXPECT_FALSE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "128");
    ev = feed_faults(*e, {10});
    ASSERT_TRUE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "256");
    // Rollback restores the original through both kinds of change.
    auto rep = rollback(*journal_, *knobs_, {}, {}, "rollback");
    ASSERT_TRUE(rep) << rep.error().message;
    EXPECT_EQ(rep->restored, 1u);
    EXPECT_EQ(ra(), "128");
}

// A knob that takes seconds to act (vm.swappiness: reclaim must move memory first): the
// transition after the write counts for neither side, however short the interval.
TEST_F(ReliefTest, AKnobsOwnSettleTimeKeepsTheTransitionOutOfTheVerification) {
    for (double settle_s : {0.0, 5.0}) {
        SCOPED_TRACE(settle_s);
        TearDown();
        SetUp();
        auto e = engine();
        script_ = [settle_s](int64_t cur) -> std::optional<Recommendation> {
            if (cur != 128) return std::nullopt;
            auto r = move(64, -1, false);
            r.settle_s = settle_s;
            return r;
        };
        feed_faults(*e, {100, 100, 100, 100});
        ASSERT_EQ(ra(), "64");
        // Five seconds of transition (--settle covers the first), then the effect.
        auto ev = feed_faults(*e, {100, 100, 100, 100, 100, 10, 10, 10, 10});
        if (settle_s > 0) {
            EXPECT_TRUE(has(ev, EngineEvent::Kind::kept));
            EXPECT_EQ(ra(), "64");
        } else {
            EXPECT_TRUE(has(ev, EngineEvent::Kind::reverted));  // the window caught the transition
            EXPECT_EQ(ra(), "128");
        }
    }
}

TEST_F(ReliefTest, NeverOverridesSomeoneElsesValue) {
    auto e = engine();
    script_ = [](int64_t cur) { return std::optional(move(cur * 2, +1, true)); };
    feed_faults(*e, {10, 10, 10, 10});
    ASSERT_EQ(ra(), "256");
    put("queue/read_ahead_kb", "300");
    auto ev = feed_faults(*e, {10, 10, 10, 10, 10, 10});
    EXPECT_TRUE(has(ev, EngineEvent::Kind::overridden));
    EXPECT_FALSE(has(ev, EngineEvent::Kind::applied));
    EXPECT_EQ(ra(), "300");
}

TEST_F(ReliefTest, NotesAreShownAndNeverApplied) {
    auto e = engine();
    script_ = [](int64_t) -> std::optional<Recommendation> {
        Recommendation r;
        r.unavailable = "needs something this device lacks";
        r.reason = r.unavailable;
        return r;
    };
    std::vector<Snapshot> w(4);
    auto plan = e->plan(w, nullptr);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_TRUE(plan[0].is_note());
    EXPECT_EQ(plan[0].blocked, "needs something this device lacks");
    EXPECT_EQ(plan[0].display, "/sys/block/loop3/queue/read_ahead_kb");
    const std::string text = tune_plan_text(plan, 4'000'000'000);
    EXPECT_NE(text.find("nothing to change"), std::string::npos) << text;
    EXPECT_NE(text.find("not applicable: needs something this device lacks"), std::string::npos)
        << text;
    EXPECT_EQ(tune_plan_json(plan, 0)["changes"][0]["unavailable"],
              "needs something this device lacks");
    auto ev = feed_faults(*e, {10, 10, 10, 10, 10});
    EXPECT_TRUE(ev.empty());
    EXPECT_EQ(ra(), "128");
    EXPECT_EQ(journal_->state().records, 0u);
}

TEST(ChangeGateRelief, OnlyHandsOffBlocksARelief) {
    ChangeGate g(GatePolicy{60'000, 600'000, 300'000});
    const KnobId id = ScriptedTuner::id();
    g.applied(id, "128", "64", -1, 0);
    g.reverted(id, "64", 0);
    g.applied(id, "128", "256", +1, 1'000);
    EXPECT_NE(g.blocked(id, "512", +1, 2'000), "");
    EXPECT_EQ(g.blocked(id, "512", +1, 2'000, /*relief=*/true), "");
    EXPECT_NE(g.blocked(id, "64", -1, 2'000), "");
    EXPECT_EQ(g.blocked(id, "64", -1, 2'000, true), "");  // through back-off and hysteresis
    g.hands_off(id);
    EXPECT_NE(g.blocked(id, "512", +1, 2'000, true), "");
}

}  // namespace
}  // namespace perfbpf::tune

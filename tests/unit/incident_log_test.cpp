#include "sinks/incident_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "sinks/incident_json.h"
#include "util/safe_open.h"
#include "util/scratch_dir.h"

namespace perfbpf {
namespace {

struct Dir {
    ScratchDir scratch{"perfbpf-incident-log"};
    UniqueFd fd;
    Dir() {
        auto d = open_state_dir(scratch.path(), false);
        EXPECT_TRUE(d) << (d ? "" : d.error().message);
        if (d) fd = std::move(*d);
    }
    uint64_t size(const char* name) const {
        struct stat st {};
        if (::stat((scratch.path() + "/" + name).c_str(), &st) != 0) return 0;
        return static_cast<uint64_t>(st.st_size);
    }
};

std::string record(int n) {
    return R"({"event":"incident","id":"1-)" + std::to_string(n) + R"(","change":"opened"})";
}

TEST(IncidentLog, AppendsLinesAndReadsThemBack) {
    Dir d;
    IncidentLog log(d.fd.get(), d.scratch.path(), 1 << 20);
    ASSERT_TRUE(log.append(record(1)));
    ASSERT_TRUE(log.append(record(2)));
    auto lines = read_incident_log(d.scratch.path());
    ASSERT_TRUE(lines);
    ASSERT_EQ(lines->size(), 2u);
    EXPECT_EQ((*lines)[0], record(1));
    EXPECT_EQ((*lines)[1], record(2));
}

TEST(IncidentLog, ReopenedLogAppendsAfterWhatIsThere) {
    Dir d;
    {
        IncidentLog log(d.fd.get(), d.scratch.path(), 1 << 20);
        ASSERT_TRUE(log.append(record(1)));
    }
    IncidentLog again(d.fd.get(), d.scratch.path(), 1 << 20);
    ASSERT_TRUE(again.append(record(2)));
    auto lines = read_incident_log(d.scratch.path());
    ASSERT_TRUE(lines);
    EXPECT_EQ(lines->size(), 2u);
}

TEST(IncidentLog, RotatesAtTheCapKeepingOneOldFile) {
    Dir d;
    const uint64_t line = record(10).size() + 1;
    const uint64_t cap = line * 3;
    IncidentLog log(d.fd.get(), d.scratch.path(), cap);
    for (int i = 10; i < 20; ++i) ASSERT_TRUE(log.append(record(i)));
    // 10 records, 3 a file: the current file holds the last one, the old one the 3 before
    // it (16-18); the 6 before those are gone.
    EXPECT_LE(d.size(kIncidentLogFile), cap);
    EXPECT_LE(d.size(kIncidentLogOldFile), cap);
    auto lines = read_incident_log(d.scratch.path());
    ASSERT_TRUE(lines);
    ASSERT_EQ(lines->size(), 4u);
    EXPECT_EQ(lines->front(), record(16));
    EXPECT_EQ(lines->back(), record(19));
    EXPECT_EQ(std::filesystem::exists(d.scratch.path() + "/incidents.jsonl.2"), false);
}

TEST(IncidentLog, RefusesASymlinkPlantedForTheFile) {
    Dir d;
    const std::string target = d.scratch.path() + "/elsewhere";
    ASSERT_EQ(::symlink(target.c_str(), (d.scratch.path() + "/" + kIncidentLogFile).c_str()), 0);
    IncidentLog log(d.fd.get(), d.scratch.path(), 1 << 20);
    auto r = log.append(record(1));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(kIncidentLogFile), std::string::npos) << r.error().message;
    EXPECT_FALSE(std::filesystem::exists(target));
}

TEST(IncidentLog, ReadingSkipsATornLastLine) {
    Dir d;
    IncidentLog log(d.fd.get(), d.scratch.path(), 1 << 20);
    ASSERT_TRUE(log.append(record(1)));
    const int fd = ::open((d.scratch.path() + "/" + kIncidentLogFile).c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "{\"event\":", 9), 9);
    ::close(fd);
    auto lines = read_incident_log(d.scratch.path());
    ASSERT_TRUE(lines);
    EXPECT_EQ(lines->size(), 1u);
}

TEST(IncidentLog, MissingFilesAreNoRecords) {
    ScratchDir s("perfbpf-incident-log");
    auto lines = read_incident_log(s.path());
    ASSERT_TRUE(lines);
    EXPECT_TRUE(lines->empty());
}

Incident incident(uint64_t id, int64_t start, int64_t end) {
    Incident inc;
    inc.id = id;
    inc.start_ms = start;
    inc.end_ms = end;
    inc.score = 9;
    IncidentSeries s;
    s.key = {"cpu_pct", {{"cgroup", "/"}, {"comm", "spin"}, {"pid", "42"}}};
    s.peak.observed = 99;
    s.peak.expected = 1;
    s.peak.score = 9;
    inc.series.push_back(s);
    return inc;
}

TEST(IncidentRecords, FoldKeepsTheLatestStateWithItsEvidence) {
    Evidence e;
    e.resource = Resource::cpu;
    e.intervals = 2;
    e.rankings.push_back({"process", "cpu_pct", "pct", "mean", {{{{"pid", "42"}}, 99, 2}}});
    std::vector<std::string> lines = {
        incident_record(1000, "7-1", IncidentChange::opened, incident(1, 1000, 0)).dump(),
        evidence_record(3000, {{"incident", "7-1"}}, e).dump(),
        incident_record(9000, "7-1", IncidentChange::closed, incident(1, 1000, 8000)).dump(),
        incident_record(5000, "7-2", IncidentChange::opened, incident(2, 5000, 0)).dump(),
        "not json",
    };
    auto all = fold_incident_records(lines, 0);
    ASSERT_EQ(all["incidents"].size(), 2u);
    EXPECT_EQ(all["incidents"][0]["change"], "closed");
    EXPECT_EQ(all["incidents"][0]["open"], false);
    EXPECT_EQ(all["incidents"][0]["resource"], "cpu");
    EXPECT_EQ(all["incidents"][0]["evidence"][0]["rankings"][0]["top"][0]["labels"]["pid"], "42");
    EXPECT_EQ(all["incidents"][1]["open"], true);
    EXPECT_EQ(all["skipped"], 1);
    // Closed before `since`: left out; open: kept whatever its age.
    auto recent = fold_incident_records(lines, 10'000);
    ASSERT_EQ(recent["incidents"].size(), 1u);
    EXPECT_EQ(recent["incidents"][0]["id"], "7-2");
    const std::string text = incidents_text(all);
    EXPECT_NE(text.find("incident 7-1 [cpu] closed"), std::string::npos) << text;
    EXPECT_NE(text.find("pid=42"), std::string::npos) << text;
}

TEST(IncidentRecords, AlertsFoldByRuleObjectAndStart) {
    AlertEvent fired{AlertChange::fired, {}};
    fired.alert.rule = "cpu_busy";
    fired.alert.starts_ms = 1000;
    fired.alert.summary = "CPU busy";
    AlertEvent resolved = fired;
    resolved.change = AlertChange::resolved;
    resolved.alert.ends_ms = 5000;
    Evidence e;
    e.resource = Resource::cpu;
    std::vector<std::string> lines = {
        alert_record(1000, fired).dump(),
        evidence_record(2000, {{"alert", alert_ref(fired.alert)}}, e).dump(),
        alert_record(5000, resolved).dump()};
    auto f = fold_incident_records(lines, 0);
    ASSERT_EQ(f["alerts"].size(), 1u);
    EXPECT_EQ(f["alerts"][0]["change"], "resolved");
    EXPECT_EQ(f["alerts"][0]["firing"], false);
    EXPECT_TRUE(f["alerts"][0].contains("evidence"));
}

TEST(IncidentRecords, TuneChangesFoldByTheirJournalSeqUnderWhatNamedThem) {
    tune::KnobRecord k;
    k.id = {tune::KnobKind::cgroup, "cpu.shares", tune::Scope::cgroup("/t/lat")};
    k.display = "/sys/fs/cgroup/cpu/t/lat/cpu.shares";
    k.change_seq = 4;
    k.tuner = "cpu-share";
    k.from = "1024";
    k.to = "4096";
    tune::KnobRecord kept = k;
    kept.outcome = tune::Outcome::kept;
    kept.detail = "run-queue wait fell 80%";
    tune::KnobRecord other = k;
    other.change_seq = 9;
    other.id.scope = tune::Scope::cgroup("/t/b");
    other.outcome = tune::Outcome::reverted;
    const nlohmann::json subject = {{"incident", "7-1"}};
    std::vector<std::string> lines = {
        incident_record(1000, "7-1", IncidentChange::opened, incident(1, 1000, 0)).dump(),
        tune_record(2000, subject, k).dump(),
        tune_record(5000, subject, kept).dump(),
        tune_record(
            6000,
            {{"alert", {{"rule", "r"}, {"object", nlohmann::json::object()}, {"starts_ms", 1}}}},
            other)
            .dump(),
    };
    auto f = fold_incident_records(lines, 0);
    EXPECT_EQ(f["skipped"], 0);
    ASSERT_EQ(f["tune"].size(), 2u);
    EXPECT_EQ(f["tune"][0]["change"], "kept");  // the latest record of seq 4
    EXPECT_EQ(f["tune"][0]["object"], "cgroup:/t/lat");
    EXPECT_EQ(f["tune"][0]["incident"], "7-1");
    EXPECT_EQ(f["tune"][1]["change"], "reverted");
    ASSERT_EQ(f["incidents"].size(), 1u);
    ASSERT_EQ(f["incidents"][0]["tune"].size(), 1u);
    EXPECT_EQ(f["incidents"][0]["tune"][0]["to"], "4096");
    const std::string text = incidents_text(f);
    EXPECT_NE(text.find("tuned: cpu-share cgroup:/t/lat: /sys/fs/cgroup/cpu/t/lat/cpu.shares 1024 "
                        "-> 4096 kept (run-queue wait fell 80%)"),
              std::string::npos)
        << text;
    // Resolved before `since`: left out of the top-level list.
    EXPECT_TRUE(fold_incident_records(lines, 7000)["tune"].empty());
}

}  // namespace
}  // namespace perfbpf

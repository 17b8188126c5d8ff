#include "config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.h"

namespace perfbpf {
namespace {

TEST(Config, EmptyGivesDefaults) {
    auto c = parse_config("", "test.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_DOUBLE_EQ(c->interval_s, 1.0);
    EXPECT_DOUBLE_EQ(c->thresholds.cpu_runq_p99_warn_us, Thresholds{}.cpu_runq_p99_warn_us);
}

TEST(Config, ReadsSectionsAndThresholds) {
    auto c = parse_config(
        "[top]\ninterval = 0.5\n[probes]\nsample_hz = 99\n[general]\nstate_dir = \"/srv/p\"\n"
        "[thresholds]\ncpu_runq_p99_warn_us = 2000\ndisk_util_crit_pct = 90\n",
        "test.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_DOUBLE_EQ(c->interval_s, 0.5);
    EXPECT_EQ(c->sample_hz, 99);
    EXPECT_EQ(c->state_dir, "/srv/p");
    EXPECT_DOUBLE_EQ(c->thresholds.cpu_runq_p99_warn_us, 2000);
    EXPECT_DOUBLE_EQ(c->thresholds.disk_util_crit_pct, 90);
}

TEST(Config, ErrorsNameTheKeyAndRange) {
    auto out_of_range = parse_config("[top]\ninterval = 0.01\n", "f.toml");
    ASSERT_FALSE(out_of_range);
    EXPECT_NE(out_of_range.error().message.find("top.interval"), std::string::npos);
    EXPECT_NE(out_of_range.error().message.find("[0.1, 3600]"), std::string::npos);

    auto unknown = parse_config("[thresholds]\ncpu_typo = 1\n", "f.toml");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("thresholds.cpu_typo"), std::string::npos);

    auto wrong_type = parse_config("[thresholds]\ndisk_util_warn_pct = \"high\"\n", "f.toml");
    ASSERT_FALSE(wrong_type);
    EXPECT_NE(wrong_type.error().message.find("must be a number"), std::string::npos);

    auto syntax = parse_config("[top\n", "f.toml");
    ASSERT_FALSE(syntax);
    EXPECT_NE(syntax.error().message.find("f.toml:1"), std::string::npos);

    auto inverted =
        parse_config("[thresholds]\ndisk_util_warn_pct = 99\ndisk_util_crit_pct = 90\n", "f.toml");
    ASSERT_FALSE(inverted);
    EXPECT_NE(inverted.error().message.find("disk_util_warn_pct"), std::string::npos);
}

TEST(Config, TuneAutoIsOffByDefaultAndAlertsNameKnownTuners) {
    auto c = parse_config("", "t.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_FALSE(c->tune.auto_tune);
    c = parse_config(
        "[tune]\nauto = true\n[[alert]]\nname = \"starved\"\nselect = \"runq_wait_ns\"\n"
        "warn = 1\ntuner = \"cpu-share\"\n",
        "t.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_TRUE(c->tune.auto_tune);
    ASSERT_EQ(c->alerting.rules.size(), 1u);
    EXPECT_EQ(c->alerting.rules[0].tuner, "cpu-share");

    auto not_bool = parse_config("[tune]\nauto = 1\n", "t.toml");
    ASSERT_FALSE(not_bool);
    EXPECT_NE(not_bool.error().message.find("tune.auto must be true or false"), std::string::npos);
    auto unknown = parse_config(
        "[[alert]]\nname = \"x\"\nselect = \"runq_wait_ns\"\nwarn = 1\ntuner = \"turbo\"\n",
        "t.toml");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("tuner 'turbo' is not one of"), std::string::npos)
        << unknown.error().message;
    EXPECT_NE(unknown.error().message.find("cpu-share"), std::string::npos);
}

TEST(Config, MissingFileIsAnError) {
    auto c = load_config("/nonexistent/perfbpf.toml");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("/nonexistent/perfbpf.toml"), std::string::npos);
}

TEST(Config, NanAndInfinitiesAreRefused) {
    // NaN passed every range check, and `interval = nan` made top wait forever.
    for (const char* v : {"nan", "+nan", "-nan", "inf", "+inf", "-inf"}) {
        for (const char* key :
             {"[top]\ninterval", "[probes]\nsample_hz", "[thresholds]\ndisk_util_warn_pct"}) {
            auto c = parse_config(std::string(key) + " = " + v + "\n", "f.toml");
            ASSERT_FALSE(c) << key << " = " << v;
            EXPECT_NE(c.error().message.find("must be a finite number"), std::string::npos)
                << c.error().message;
        }
    }
}

TEST(Config, DevicesFifosAndHugeFilesAreRefusedWithoutReading) {
    auto zero = load_config("/dev/zero");  // read forever before
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().message.find("/dev/zero is not a regular file"), std::string::npos)
        << zero.error().message;
    test::TempDir d;
    const std::string fifo = d.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    auto f = load_config(fifo);  // blocked in open() before: nobody writes it
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message.find("not a regular file"), std::string::npos);
    const std::string big = d.path() + "/big.toml";
    std::ofstream(big) << std::string(kMaxConfigBytes, '#') << "\n";
    auto b = load_config(big);
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("larger than 1048576 bytes"), std::string::npos)
        << b.error().message;
    const std::string ok = d.path() + "/ok.toml";
    std::ofstream(ok) << "[top]\ninterval = 2\n";
    auto c = load_config(ok);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_DOUBLE_EQ(c->interval_s, 2);
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(Config, DaemonAndHistorySections) {
    auto c = parse_config(
        "[daemon]\ninterval = 0.1\ntop_processes = 20\nwatch = [\"postgres\", \"nginx\"]\n"
        "cpu_budget_pct = 2.5\ngovernor_period = 10\n"
        "[history]\nraw_days = 7\nminute_days = 30\nhour_days = 365\nmax_disk_mib = 512\n",
        "d.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_DOUBLE_EQ(c->daemon.interval_s, 0.1);
    EXPECT_EQ(c->daemon.top_processes, 20);
    EXPECT_EQ(c->daemon.watch, (std::vector<std::string>{"postgres", "nginx"}));
    EXPECT_DOUBLE_EQ(c->daemon.cpu_budget_pct, 2.5);
    EXPECT_DOUBLE_EQ(c->daemon.governor_period_s, 10);
    EXPECT_DOUBLE_EQ(c->history.raw_days, 7);
    EXPECT_DOUBLE_EQ(c->history.max_disk_mib, 512);
}

TEST(Config, DaemonKeysAreCheckedByName) {
    for (const char* bad : {"[daemon]\ninterval = 0.01\n", "[daemon]\nwatch = \"postgres\"\n",
                            "[daemon]\nwatch = [1]\n", "[daemon]\ntop_processes = 2.5\n",
                            "[history]\nraw_days = -1\n", "[daemon]\nintervall = 1\n"}) {
        auto c = parse_config(bad, "d.toml");
        ASSERT_FALSE(c) << bad;
        EXPECT_NE(c.error().message.find("d.toml: "), std::string::npos) << c.error().message;
        EXPECT_TRUE(c.error().message.find("daemon.") != std::string::npos ||
                    c.error().message.find("history.") != std::string::npos)
            << c.error().message;
    }
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(ConfigListen, AddressesAndTokenFileAreChecked) {
    auto ok = parse_config("[daemon]\nlisten = \"[::1]:9100\"\nbearer_token_file = \"/etc/t\"\n",
                           "t.toml");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->daemon.listen, "[::1]:9100");
    EXPECT_EQ(ok->daemon.bearer_token_file, "/etc/t");
    auto off = parse_config("[daemon]\nlisten = \"\"\n", "t.toml");
    ASSERT_TRUE(off) << off.error().message;
    EXPECT_EQ(off->daemon.listen, "");
    auto host = parse_config("[daemon]\nlisten = \"localhost:9637\"\n", "t.toml");
    ASSERT_FALSE(host);
    EXPECT_NE(host.error().message.find("daemon.listen"), std::string::npos);
    EXPECT_FALSE(parse_config("[daemon]\nlisten = 9637\n", "t.toml"));
    EXPECT_FALSE(parse_config("[daemon]\nbearer_token_file = \"token\"\n", "t.toml"));
}

}  // namespace
}  // namespace perfbpf

namespace perfbpf {
namespace {

TEST(ConfigRemoteWrite, KeysAreRead) {
    auto c = parse_config(
        "[remote_write]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\nbatch_samples = 500\n"
        "queue_samples = 20000\ntimeout = 2.5\nbearer_token_file = \"/etc/perfbpf/rw.token\"\n",
        "r.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->remote_write.url, "http://127.0.0.1:9090/api/v1/write");
    EXPECT_EQ(c->remote_write.batch_samples, 500);
    EXPECT_EQ(c->remote_write.queue_samples, 20000);
    EXPECT_DOUBLE_EQ(c->remote_write.timeout_s, 2.5);
    EXPECT_EQ(c->remote_write.bearer_token_file, "/etc/perfbpf/rw.token");
    EXPECT_EQ(Config{}.remote_write.url, "");
}

TEST(ConfigRemoteWrite, BadValuesNameTheKey) {
    for (const char* bad :
         {"url = \"https://prom.example/api/v1/write\"", "url = \"prom:9090\"", "url = \"http://\"",
          "batch_samples = 0", "batch_samples = 2.5", "queue_samples = 100000000", "timeout = 0",
          "bearer_token_file = \"token\"", "urll = \"http://x\""}) {
        auto c = parse_config(std::string("[remote_write]\n") + bad + "\n", "r.toml");
        ASSERT_FALSE(c) << bad;
        EXPECT_NE(c.error().message.find("r.toml: "), std::string::npos) << c.error().message;
        EXPECT_NE(c.error().message.find("remote_write."), std::string::npos) << c.error().message;
    }
    auto https = parse_config("[remote_write]\nurl = \"https://p/api/v1/write\"\n", "r.toml");
    ASSERT_FALSE(https);
    EXPECT_NE(https.error().message.find("https is not supported"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf

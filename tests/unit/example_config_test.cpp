// deploy/perfbpf.toml is the installed /etc/perfbpf/perfbpf.toml: it must list every key
// the parser accepts, each commented out with its true default.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include "config/config.h"
#include "util/files.h"

namespace perfbpf {
namespace {

struct Uncommented {
    std::string text;               // the file with its `# key = value` lines uncommented
    std::vector<std::string> keys;  // "section.key" of those lines, in order
};

Uncommented uncomment(const std::string& example) {
    static const std::regex section(R"(^\[([a-z_]+)\]$)");
    static const std::regex commented_key(R"(^# ([a-z_0-9]+) = (.+)$)");
    Uncommented out;
    std::istringstream in(example);
    std::string line, current;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_match(line, m, section)) current = m[1];
        if (std::regex_match(line, m, commented_key)) {
            std::string key = current + "." + std::string(m[1]);
            out.keys.push_back(key);
            line = std::string(m[1]) + " = " + std::string(m[2]);
        }
        out.text += line + "\n";
    }
    return out;
}

class ExampleConfig : public ::testing::Test {
  protected:
    void SetUp() override {
        auto text = read_file(PERFBPF_EXAMPLE_CONFIG);
        ASSERT_TRUE(text) << text.error().message;
        auto keys = known_config_keys();
        known_ = {keys.begin(), keys.end()};
        example_ = uncomment(*text);
    }
    std::set<std::string> known_;
    Uncommented example_;
};

TEST_F(ExampleConfig, UncommentedParsesToTheDefaults) {
    auto c = parse_config(example_.text, PERFBPF_EXAMPLE_CONFIG);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_TRUE(*c == Config{}) << "a `# key = value` line in " << PERFBPF_EXAMPLE_CONFIG
                                << " is not the parser's default";
}

TEST_F(ExampleConfig, ListsEveryKnownKeyOnce) {
    for (const auto& key : known_) EXPECT_EQ(std::ranges::count(example_.keys, key), 1) << key;
    for (const auto& key : example_.keys)
        EXPECT_TRUE(known_.contains(key))
            << key << " is in the example but the parser does not know it";
}

TEST(ExampleConfigKeys, EveryKnownKeyIsAcceptedByTheParser) {
    auto keys = known_config_keys();
    EXPECT_EQ(std::ranges::count(keys, "thresholds.disk_util_crit_pct"), 1);
    EXPECT_EQ(std::ranges::count(keys, "top.interval"), 1);
    EXPECT_EQ(std::ranges::count(keys, "general.state_dir"), 1);
    // A value may be out of range or cross its pair; the key itself must never be unknown.
    for (const auto& key : keys) {
        auto dot = key.find('.');
        std::string section = key.substr(0, dot), name = key.substr(dot + 1);
        auto c = parse_config("[" + section + "]\n" + name + " = 1\n", "k.toml");
        if (!c) {
            EXPECT_EQ(c.error().message.find("unknown key"), std::string::npos) << key;
        }
    }
    auto typo = parse_config("[thresholds]\ndisk_util_crit = 1\n", "k.toml");
    ASSERT_FALSE(typo);
    EXPECT_NE(typo.error().message.find("unknown key"), std::string::npos);
}

}  // namespace
}  // namespace perfbpf

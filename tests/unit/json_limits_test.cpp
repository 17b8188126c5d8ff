// parse_json_bounded: the nesting limit counts brackets outside strings only.
#include <gtest/gtest.h>

#include <string>

#include "util/json_limits.h"

namespace perfbpf {
namespace {

std::string nested(size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

TEST(JsonLimits, NestingUpToTheLimitParses) {
    auto j = parse_json_bounded(nested(64));
    ASSERT_TRUE(j) << j.error().message;
    EXPECT_TRUE(j->is_array());
    auto deep = parse_json_bounded(nested(65));
    ASSERT_FALSE(deep);
    EXPECT_EQ(deep.error().message, "nested deeper than 64 levels");
    EXPECT_TRUE(parse_json_bounded(nested(3), 3));
    EXPECT_FALSE(parse_json_bounded(R"({"a":{"b":{"c":[]}}})", 3));
}

TEST(JsonLimits, BracketsInsideStringsDoNotCount) {
    const std::string many = std::string(1000, '[') + R"(\"{{{)" + std::string(1000, '{');
    auto j = parse_json_bounded(R"({"k":")" + many + R"("})");
    ASSERT_TRUE(j) << j.error().message;
    EXPECT_EQ((*j)["k"].get<std::string>().size(), many.size() - 1);  // the \" is one char
}

TEST(JsonLimits, MalformedTextIsNotValidJson) {
    for (const char* bad : {"", "[1,", R"({"a":)", "]]]]", "nan"}) {
        auto j = parse_json_bounded(bad);
        ASSERT_FALSE(j) << bad;
        EXPECT_EQ(j.error().message, "not valid JSON") << bad;
    }
}

}  // namespace
}  // namespace perfbpf

// The dashboard compiled into the binary: every file the page loads is there, non-empty,
// with the content type a browser needs to run or apply it.
#include "serve/dashboard_assets.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace perfbpf {
namespace {

const DashboardAsset* asset(std::string_view path) {
    for (const auto& a : dashboard_assets())
        if (a.path == path) return &a;
    return nullptr;
}

TEST(DashboardAssets, ThePageAndEverythingItLoadsAreEmbedded) {
    const DashboardAsset* index = asset("/");
    ASSERT_NE(index, nullptr);
    EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
    std::set<std::string_view> paths;
    for (const auto& a : dashboard_assets()) {
        EXPECT_TRUE(paths.insert(a.path).second) << "twice: " << a.path;
        EXPECT_FALSE(a.body.empty()) << a.path;
        if (a.path == "/") continue;
        // The page refers to its files relatively, so it works behind a path prefix too.
        const std::string ref = std::string(a.path.substr(1));
        EXPECT_NE(index->body.find("\"" + ref + "\""), std::string_view::npos)
            << "index.html does not load " << ref;
        if (a.path.ends_with(".js")) {
            EXPECT_EQ(a.content_type, "text/javascript; charset=utf-8");
        }
        if (a.path.ends_with(".css")) {
            EXPECT_EQ(a.content_type, "text/css; charset=utf-8");
        }
    }
    const DashboardAsset* uplot = asset("/uPlot.iife.min.js");
    ASSERT_NE(uplot, nullptr);
    EXPECT_NE(uplot->body.find("uPlot"), std::string_view::npos);
    EXPECT_NE(asset("/app.js"), nullptr);
    EXPECT_NE(asset("/app.css"), nullptr);
}

}  // namespace
}  // namespace perfbpf

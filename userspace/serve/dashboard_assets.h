// The dashboard's page, script, styles and uPlot, compiled into the binary from web/ by
// cmake/WebAssets.cmake, so the daemon serves them from memory.
#pragma once

#include <span>
#include <string_view>

namespace perfbpf {

struct DashboardAsset {
    std::string_view path;  // URL path: "/", "/app.js"
    std::string_view content_type;
    std::string_view body;
};

std::span<const DashboardAsset> dashboard_assets();

}  // namespace perfbpf

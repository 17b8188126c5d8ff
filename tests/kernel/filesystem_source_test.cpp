// FilesystemSource keeps /proc/self/mountinfo open and reads it again only when poll()
// says the mount table changed: a filesystem mounted or unmounted between two collects
// must still show, or go, at the next one.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "collect/filesystem_source.h"
#include "support.h"

namespace perfbpf {
namespace {

std::optional<FilesystemSample> mounted_at(FilesystemSource& source, const std::string& dir) {
    CollectContext ctx;
    SnapshotBuilder builder(ctx);
    source.collect(builder);
    for (const auto& f : builder.filesystems())
        if (f.mountpoint == dir) return f;
    return std::nullopt;
}

TEST(FilesystemSource, MountsAndUnmountsBetweenCollectsShow) {
    PERFBPF_REQUIRE_ROOT();
    FilesystemSource source("/proc");
    // The mount table as it was, read before the mount (a fresh root may have no disk
    // filesystem at all: tmpfs and overlay are not measured).
    ASSERT_FALSE(mounted_at(source, "/nonexistent-mount-point"));

    std::string why;
    auto loop = test::LoopDevice::create(64, /*with_filesystem=*/true, &why);
    if (!loop) PERFBPF_SKIP_OR_FAIL("no loop device with ext4: " + why);
    const std::string dir = loop->mount_point();
    auto seen = mounted_at(source, dir);
    ASSERT_TRUE(seen) << dir << " mounted, not in the next collect";
    EXPECT_EQ(seen->device, loop->name());
    EXPECT_EQ(seen->fstype, "ext4");
    EXPECT_GT(seen->size_bytes, 32u << 20);
    // Unchanged mount table: still there, its numbers read again.
    EXPECT_TRUE(mounted_at(source, dir));

    loop.reset();  // unmounted and detached
    EXPECT_FALSE(mounted_at(source, dir)) << dir << " unmounted, still in the next collect";
}

}  // namespace
}  // namespace perfbpf

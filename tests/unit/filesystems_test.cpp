// Which mounts become FilesystemSamples: pseudo, network and FUSE filesystems are left out,
// bind mounts are one filesystem, escaped paths are decoded.
#include "collect/parse/filesystems.h"

#include <gtest/gtest.h>

#include "model/series_extract.h"
#include "model/series_restore.h"
#include "sinks/prometheus.h"
#include "util/files.h"

namespace perfbpf {
namespace {

std::vector<MountEntry> fixture() {
    auto text = read_file(std::string(PERFBPF_FIXTURES_DIR) + "/mountinfo/debian-host.txt");
    EXPECT_TRUE(text) << text.error().message;
    return text ? parse_mountinfo(*text) : std::vector<MountEntry>{};
}

TEST(Mountinfo, ParsesEveryWellFormedLine) {
    auto all = fixture();
    ASSERT_EQ(all.size(), 17u);
    const MountEntry& root = all[4];
    EXPECT_EQ(root.major, 254u);
    EXPECT_EQ(root.minor, 1u);
    EXPECT_EQ(root.root, "/");
    EXPECT_EQ(root.mountpoint, "/");
    EXPECT_EQ(root.fstype, "ext4");
    EXPECT_EQ(root.source, "/dev/vda1");
    EXPECT_EQ(all[15].mountpoint, "/mnt/my disk");
    EXPECT_EQ(all[15].source, "/dev/mapper/vg-my disk");
}

TEST(Mountinfo, MeasurableMountsAreRealOncePerDevice) {
    std::vector<std::string> points, devices;
    for (const auto& m : measurable_mounts(fixture())) {
        points.push_back(m.mountpoint);
        devices.push_back(device_label(m.source));
    }
    // /srv/web is a bind of a subdirectory of the xfs that /data mounts whole: /data stands
    // for it, in the place of the device's first mount.
    EXPECT_EQ(points,
              (std::vector<std::string>{"/", "/data", "/boot",
                                        "/var/lib/docker/overlay2/abc/merged", "/mnt/my disk"}));
    EXPECT_EQ(devices,
              (std::vector<std::string>{"vda1", "vdb1", "vda2", "overlay", "mapper/vg-my disk"}));
}

TEST(Mountinfo, OnlyBindMountsOfADeviceKeepTheFirst) {
    auto m = parse_mountinfo(
        "1 0 8:1 /a /x rw - ext4 /dev/sda1 rw\n"
        "2 0 8:1 /b /y rw - ext4 /dev/sda1 rw\n");
    auto kept = measurable_mounts(m);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].mountpoint, "/x");
}

TEST(FilesystemSeries, LabelledByMountpointAndDeviceAndRestoredAsFilesystems) {
    Snapshot s;
    FilesystemSample f;
    f.mountpoint = "/";
    f.device = "vda1";
    f.fstype = "ext4";
    f.size_bytes = 100;
    f.used_bytes = 40;
    f.avail_bytes = 55;
    f.inodes_total = 10;
    f.inodes_used = 3;
    s.filesystems = {f};
    auto series = snapshot_series(s);
    const SeriesSample* used = nullptr;
    for (const auto& x : series)
        if (x.key.metric == "fs_used_bytes") used = &x;
    ASSERT_NE(used, nullptr);
    EXPECT_EQ(used->key.labels, (Labels{{"device", "vda1"}, {"mountpoint", "/"}}));
    EXPECT_EQ(used->kind, MetricKind::level);
    EXPECT_DOUBLE_EQ(used->value, 40);
    ASSERT_NE(find_metric("fs_size_bytes", ObjectKind::filesystem), nullptr);

    // A device label alone would make it a block device.
    Snapshot back = snapshot_from_series(series, 1'000'000'000, 0);
    EXPECT_TRUE(back.devices.empty());
    ASSERT_EQ(back.filesystems.size(), 1u);
    EXPECT_EQ(back.filesystems[0].mountpoint, "/");
    EXPECT_EQ(back.filesystems[0].device, "vda1");
    EXPECT_EQ(back.filesystems[0].inodes_used, 3u);

    Exposition x;
    x.update(series);
    const std::string page = x.render({});
    EXPECT_NE(page.find("# TYPE perfbpf_fs_used_bytes gauge\n"), std::string::npos) << page;
    EXPECT_NE(page.find("perfbpf_fs_used_bytes{device=\"vda1\",mountpoint=\"/\"} 40\n"),
              std::string::npos)
        << page;
}

}  // namespace
}  // namespace perfbpf

// SPDX-License-Identifier: GPL-2.0-or-later
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "storage/filesystem/mountinfo.h"

using namespace veeamha::storage::filesystem;

TEST_CASE("mountinfo lines parse into fields, escapes undone") {
    const char* text =
        "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
        "36 22 7:3 / /veeam/my\\040repo rw,noatime shared:5 master:2 - xfs /dev/loop3 rw,attr2,inode64,noquota\n"
        "40 22 0:45 /sub\\134dir /mnt/tab\\011here ro,nosuid - tmpfs tmp\\040fs ro,size=1024k\n"
        "41 22 0:46 / /mnt/noopt rw - proc proc\n";
    std::string error;
    auto mounts = parse_mountinfo(text, &error);
    INFO(error);
    REQUIRE(mounts);
    REQUIRE(mounts->size() == 4);
    const auto& m = (*mounts)[1];
    CHECK(m.mount_id == 36);
    CHECK(m.parent_id == 22);
    CHECK(m.dev() == makedev(7, 3));
    CHECK(m.mount_point == "/veeam/my repo");
    CHECK(m.mount_options == "rw,noatime");
    CHECK(m.fstype == "xfs");
    CHECK(m.source == "/dev/loop3");
    CHECK(m.super_options == "rw,attr2,inode64,noquota");
    CHECK_FALSE(m.read_only());
    const auto& t = (*mounts)[2];
    CHECK(t.root == "/sub\\dir");
    CHECK(t.mount_point == "/mnt/tab\there");
    CHECK(t.source == "tmp fs");
    CHECK(t.read_only());
    CHECK((*mounts)[3].super_options.empty());
    CHECK(top_mount_at(*mounts, "/veeam/my repo") == &m);
    CHECK(top_mount_at(*mounts, "/veeam") == nullptr);
}

TEST_CASE("the topmost of stacked mounts is the one nothing sits on") {
    const char* text =
        "50 22 7:3 / /srv rw - xfs /dev/loop3 rw\n"
        "51 50 0:60 / /srv rw - tmpfs tmpfs rw\n"
        "52 22 7:4 / /other rw - xfs /dev/loop4 rw\n";
    auto mounts = parse_mountinfo(text, nullptr);
    REQUIRE(mounts);
    const MountEntry* top = top_mount_at(*mounts, "/srv");
    REQUIRE(top);
    CHECK(top->mount_id == 51);
}

TEST_CASE("read-only is seen in the mount or the superblock options") {
    auto mounts = parse_mountinfo("60 22 7:5 / /a rw,noatime - xfs /dev/loop5 ro,attr2\n", nullptr);
    REQUIRE(mounts);
    CHECK((*mounts)[0].read_only());
    CHECK(has_option("rw,noatime", "noatime"));
    CHECK_FALSE(has_option("rw,noatimex", "noatime"));
    CHECK_FALSE(has_option("", "ro"));
}

TEST_CASE("malformed lines are errors naming the line") {
    std::string error;
    CHECK_FALSE(parse_mountinfo("22 1 253:1 / / rw shared:1 - ext4 /dev/vda1 rw\nbad line\n", &error));
    CHECK(error.find("line 2") != std::string::npos);
    CHECK_FALSE(parse_mountinfo("22 1 2531 / / rw shared:1 - ext4 /dev/vda1 rw\n", &error));
    CHECK(error.find("major:minor") != std::string::npos);
    CHECK_FALSE(parse_mountinfo("22 1 253:1 / / rw shared:1 x ext4 /dev/vda1 rw\n", &error));
    CHECK(error.find("'-'") != std::string::npos);
    CHECK_FALSE(parse_mountinfo("x 1 253:1 / / rw shared:1 - ext4 /dev/vda1 rw\n", &error));
}

TEST_CASE("escapes that are not three octal digits stay as written") {
    CHECK(unescape_mount_field("a\\04") == "a\\04");
    CHECK(unescape_mount_field("a\\x41") == "a\\x41");
    CHECK(unescape_mount_field("\\040\\040") == "  ");
    CHECK(unescape_mount_field("end\\") == "end\\");
}

TEST_CASE("this process's own mountinfo parses") {
    std::string error;
    auto mounts = read_mountinfo(&error);
    INFO(error);
    REQUIRE(mounts);
    CHECK(top_mount_at(*mounts, "/") != nullptr);
}

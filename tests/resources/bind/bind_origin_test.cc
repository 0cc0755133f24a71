// SPDX-License-Identifier: GPL-2.0-or-later
// bind_origin / is_bind_of against mountinfo text in the kernel's format: what a bind of a
// folder must show (device and root), also under a mount that is itself a bind.
#include <catch2/catch.hpp>

#include "storage/bind/bind_resource.h"

using namespace veeamha::storage;

namespace {

std::vector<filesystem::MountEntry> parse(const std::string& text) {
    std::string error;
    auto m = filesystem::parse_mountinfo(text, &error);
    INFO(error);
    REQUIRE(m);
    return *m;
}

const std::string kTable =
    "21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 21 7:3 / /veeam/repo rw,noatime shared:20 - xfs /dev/loop3 rw,attr2\n"
    "41 21 7:3 /.ha/etc-veeam /etc/veeam rw,noatime shared:20 - xfs /dev/loop3 rw,attr2\n"
    "42 21 7:4 /sub /srv/data rw shared:21 - xfs /dev/loop4 rw\n"
    "43 21 7:4 /other/.ha/etc-veeam /etc/wrong rw shared:21 - xfs /dev/loop4 rw\n";

}  // namespace

TEST_CASE("the origin of a folder: the deepest mount holding it and the path inside its filesystem") {
    auto mounts = parse(kTable);
    auto o = bind::bind_origin(mounts, "/veeam/repo/.ha/etc-veeam");
    REQUIRE(o);
    CHECK(o->mount->mount_point == "/veeam/repo");
    CHECK(o->root == "/.ha/etc-veeam");
    CHECK(bind::is_bind_of(mounts[2], *o));   // /etc/veeam shows it
    CHECK_FALSE(bind::is_bind_of(mounts[1], *o));  // the filesystem's own root is not it

    auto whole = bind::bind_origin(mounts, "/veeam/repo");
    REQUIRE(whole);
    CHECK(whole->root == "/");
    CHECK(bind::is_bind_of(mounts[1], *whole));

    auto on_root = bind::bind_origin(mounts, "/srv/other");
    REQUIRE(on_root);
    CHECK(on_root->mount->mount_point == "/");
    CHECK(on_root->root == "/srv/other");
}

TEST_CASE("under a mount that shows a subfolder, the origin's root starts with that subfolder") {
    auto mounts = parse(kTable);
    auto o = bind::bind_origin(mounts, "/srv/data/other/.ha/etc-veeam");
    REQUIRE(o);
    CHECK(o->mount->mount_point == "/srv/data");
    CHECK(o->root == "/sub/other/.ha/etc-veeam");
    // /etc/wrong shows /other/.ha/etc-veeam of the same device: the same name in another
    // folder of the filesystem is not the source.
    CHECK_FALSE(bind::is_bind_of(mounts[4], *o));
}

TEST_CASE("the same folder name on another device is not the source") {
    auto mounts = parse(kTable);
    auto o = bind::bind_origin(mounts, "/srv/data/.ha/etc-veeam");
    REQUIRE(o);
    filesystem::MountEntry look_alike = mounts[2];  // /.ha/etc-veeam, but of 7:3
    CHECK(o->root == "/sub/.ha/etc-veeam");
    o->root = "/.ha/etc-veeam";
    CHECK_FALSE(bind::is_bind_of(look_alike, *o));  // right root, wrong device
}

TEST_CASE("no origin without a root mount") {
    auto mounts = parse("40 21 7:3 / /veeam/repo rw - xfs /dev/loop3 rw\n");
    CHECK_FALSE(bind::bind_origin(mounts, "/etc/veeam"));
    CHECK(bind::bind_origin(mounts, "/veeam/repo/x"));
}

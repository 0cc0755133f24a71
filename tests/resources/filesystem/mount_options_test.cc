// SPDX-License-Identifier: GPL-2.0-or-later
#include <sys/mount.h>

#include <catch2/catch.hpp>

#include "storage/filesystem/mount_options.h"

using veeamha::storage::filesystem::MountOptions;
using veeamha::storage::filesystem::parse_mount_options;

static MountOptions parsed(const std::string& text) {
    auto r = parse_mount_options(text);
    INFO("options: " << text);
    REQUIRE(std::holds_alternative<MountOptions>(r));
    return std::get<MountOptions>(r);
}

TEST_CASE("empty and defaults give a plain read-write mount") {
    CHECK(parsed("").flags == 0);
    CHECK(parsed("").data.empty());
    CHECK(parsed("defaults").flags == 0);
    CHECK(parsed("defaults,,").data.empty());
}

TEST_CASE("generic options become MS_ flags, the rest the data string in order") {
    auto o = parsed("ro,noatime,nodev,nosuid,noexec,sync,logbufs=8,inode64,dirsync");
    CHECK(o.flags == (MS_RDONLY | MS_NOATIME | MS_NODEV | MS_NOSUID | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC));
    CHECK(o.data == "logbufs=8,inode64");
    CHECK(o.read_only());
    CHECK(describe(o) == "ro,nosuid,nodev,noexec,sync,dirsync,noatime,logbufs=8,inode64");
}

TEST_CASE("later words override earlier ones like mount(8)") {
    CHECK(parsed("ro,rw").flags == 0);
    CHECK(parsed("noexec,exec,nodev").flags == MS_NODEV);
    CHECK(parsed("noatime,relatime").flags == MS_RELATIME);
    CHECK(parsed("relatime,strictatime").flags == MS_STRICTATIME);
    CHECK(parsed("sync,async").flags == 0);
    CHECK(parsed("lazytime,nolazytime,iversion").flags == MS_I_VERSION);
}

TEST_CASE("options only mount(8) understands are dropped") {
    auto o = parsed("noauto,nofail,_netdev,x-systemd.automount,comment=foo,user,uquota");
    CHECK(o.flags == 0);
    CHECK(o.data == "uquota");
}

TEST_CASE("options that change the kind of mount are refused with the option named") {
    for (const char* bad : {"remount", "bind", "ro,move", "loop=/dev/loop0", "rshared"}) {
        auto r = parse_mount_options(bad);
        INFO(bad);
        REQUIRE(std::holds_alternative<std::string>(r));
        std::string err = std::get<std::string>(r);
        std::string word = std::string(bad).substr(std::string(bad).find_last_of(',') + 1);
        word = word.substr(0, word.find('='));
        CHECK(err.find("'" + word) != std::string::npos);
    }
}

TEST_CASE("option data is kept verbatim, including values with '='") {
    auto o = parsed("nodev,context=\"system_u:object_r:tmp_t:s0\",sunit=512,swidth=2048");
    CHECK(o.flags == MS_NODEV);
    CHECK(o.data == "context=\"system_u:object_r:tmp_t:s0\",sunit=512,swidth=2048");
}

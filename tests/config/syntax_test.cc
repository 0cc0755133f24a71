// SPDX-License-Identifier: GPL-2.0-or-later
// The small languages inside the configuration (config/syntax.h, config/suggest.h).
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include "config/suggest.h"
#include "config/syntax.h"

using namespace veeamha::config::detail;

TEST_CASE("UUIDs: 8-4-4-4-12 hex, normalised to lower case") {
    CHECK(normalize_uuid("42356049-6020-2EA0-0BD9-11362EF785E7") ==
          std::string("42356049-6020-2ea0-0bd9-11362ef785e7"));
    for (const char* bad : {"", "4235604960202ea00bd911362ef785e7",
                            "42356049-6020-2ea0-0bd9-11362ef785e", "42356049-6020-2ea0-0bd9-11362ef785e77",
                            "4235604g-6020-2ea0-0bd9-11362ef785e7", "42356049_6020_2ea0_0bd9_11362ef785e7",
                            "{2356049-6020-2ea0-0bd9-11362ef785e}"}) {
        INFO(bad);
        CHECK_FALSE(normalize_uuid(bad));
    }
}

TEST_CASE("thumbprints: SHA256: pairs, bare pairs or 64 hex digits, normalised") {
    const std::string want =
        "SHA256:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF";
    std::string why;
    CHECK(normalize_thumbprint(want, why) == want);
    CHECK(normalize_thumbprint("sha256:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef", why) == want);
    CHECK(normalize_thumbprint("01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF", why) == want);
    CHECK(normalize_thumbprint("0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef", why) == want);
    CHECK_FALSE(normalize_thumbprint("0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcde", why));
    CHECK(why.find("SHA-256 thumbprint") != std::string::npos);
    CHECK_FALSE(normalize_thumbprint("01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67", why));
    CHECK(why.find("not SHA-1") != std::string::npos);
    CHECK_FALSE(normalize_thumbprint("SHA256:0123:45", why));
    CHECK_FALSE(normalize_thumbprint("SHA256:", why));
    CHECK_FALSE(normalize_thumbprint("01::23", why));
}

TEST_CASE("addresses and prefixes") {
    auto v4 = parse_ip("192.168.22.201");
    REQUIRE(v4);
    CHECK(v4->family == AF_INET);
    auto v6 = parse_ip("FD00:0:0::1");
    REQUIRE(v6);
    CHECK(v6->text == "fd00::1");
    CHECK_FALSE(parse_ip("vbr-repo-1"));
    CHECK_FALSE(parse_ip("fe80::1%eth0"));
    CHECK_FALSE(parse_ip("1.2.3"));

    std::string why;
    auto cidr = parse_cidr("192.168.22.208/24", why);
    REQUIRE(cidr);
    CHECK(cidr->text() == "192.168.22.208/24");
    CHECK(parse_cidr("10.0.0.1/31", why));
    CHECK(parse_cidr("10.0.0.0/31", why));  // RFC 3021 point-to-point: both usable
    CHECK(parse_cidr("10.0.0.5/32", why));
    CHECK(parse_cidr("fd00::8/64", why)->text() == "fd00::8/64");
    CHECK_FALSE(parse_cidr("10.0.0.255/24", why));
    CHECK(why == "a host address, not the broadcast address of the /24");
    CHECK_FALSE(parse_cidr("10.0.0.0/24", why));
    CHECK(why == "a host address, not the network address of the /24");
    CHECK_FALSE(parse_cidr("10.0.0.1/0", why));
    CHECK_FALSE(parse_cidr("10.0.0.1/+8", why));
    CHECK_FALSE(parse_cidr("10.0.0.1/8x", why));
    CHECK_FALSE(parse_cidr("fd00::1/129", why));
    CHECK(why == "a prefix length from 1 to 128");
    CHECK_FALSE(parse_cidr("127.0.0.2/8", why));
    CHECK_FALSE(parse_cidr("224.0.0.1/4", why));
    CHECK_FALSE(parse_cidr("::/64", why));
}

TEST_CASE("endpoints need a literal address and IPv6 needs brackets") {
    auto e = parse_endpoint("127.0.0.1:9668");
    REQUIRE(e);
    CHECK(e->host == "127.0.0.1");
    CHECK(e->port == 9668);
    auto e6 = parse_endpoint("[::1]:80");
    REQUIRE(e6);
    CHECK(e6->host == "::1");
    for (const char* bad : {"localhost:9668", "::1:9668", "[127.0.0.1]:1", "127.0.0.1",
                            "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "[::1]9668", "[::1]:x"}) {
        INFO(bad);
        CHECK_FALSE(parse_endpoint(bad));
    }
}

TEST_CASE("interface names follow the kernel's rules") {
    CHECK_FALSE(interface_name_problem("ens192"));
    CHECK_FALSE(interface_name_problem("123456789012345"));
    CHECK_FALSE(interface_name_problem("br-lan.100"));
    CHECK(interface_name_problem("1234567890123456"));
    CHECK(interface_name_problem(""));
    CHECK(interface_name_problem("."));
    CHECK(interface_name_problem(".."));
    CHECK(interface_name_problem("eth0/1"));
    CHECK(interface_name_problem("eth0:1"));
    CHECK(interface_name_problem("eth 0"));
}

TEST_CASE("LVM devices: /dev/VG/LV and /dev/mapper/VG-LV with doubled dashes") {
    auto a = lvm_device("/dev/vg_repo/lv_repo");
    REQUIRE(a);
    CHECK(a->vg == "vg_repo");
    CHECK(a->lv == "lv_repo");
    auto b = lvm_device("/dev/mapper/vg--data-lv--1");
    REQUIRE(b);
    CHECK(b->vg == "vg-data");
    CHECK(b->lv == "lv-1");
    CHECK_FALSE(lvm_device("/dev/sdb1"));
    CHECK_FALSE(lvm_device("/dev/mapper/mpatha"));
    CHECK_FALSE(lvm_device("/dev/mapper/a-b-c"));
    CHECK_FALSE(lvm_device("/dev/disk/by-uuid"));
    CHECK_FALSE(lvm_device("/dev/md/data"));
    CHECK_FALSE(lvm_device("/dev/disk/by-uuid/1234"));
}

TEST_CASE("systemd unit names get .service when they have no type") {
    std::string why;
    CHECK(normalize_unit("veeamtransport", why) == std::string("veeamtransport.service"));
    CHECK(normalize_unit("veeamtransport.service", why) == std::string("veeamtransport.service"));
    CHECK(normalize_unit("repo.mount", why) == std::string("repo.mount"));
    CHECK(normalize_unit("app@one", why) == std::string("app@one.service"));
    CHECK(normalize_unit("veeam.transport", why) == std::string("veeam.transport.service"));
    CHECK_FALSE(normalize_unit("app@.service", why));
    CHECK_FALSE(normalize_unit("a b", why));
    CHECK_FALSE(normalize_unit("", why));
    CHECK_FALSE(normalize_unit("x/y", why));
}

TEST_CASE("mountpoints are absolute, not /, and lose a trailing slash") {
    std::string why;
    CHECK(normalize_mountpoint("/opt/veeam/", why) == std::string("/opt/veeam"));
    CHECK(normalize_mountpoint("/veeam/repo", why) == std::string("/veeam/repo"));
    CHECK_FALSE(normalize_mountpoint("/", why));
    CHECK_FALSE(normalize_mountpoint("//", why));
    CHECK_FALSE(normalize_mountpoint("veeam", why));
    CHECK_FALSE(normalize_mountpoint("/a//b", why));
    CHECK_FALSE(normalize_mountpoint("/a/./b", why));
    CHECK(path_inside("/veeam/repo", "/veeam"));
    CHECK_FALSE(path_inside("/veeam/repo2", "/veeam/repo"));
    CHECK_FALSE(path_inside("/veeam", "/veeam"));
}

TEST_CASE("names") {
    CHECK(valid_host_name("vbr-repo-1.vmik.lab"));
    CHECK(valid_host_name("node_1"));
    CHECK_FALSE(valid_host_name("-node"));
    CHECK_FALSE(valid_host_name("node..lab"));
    CHECK_FALSE(valid_host_name(std::string(64, 'a')));
    CHECK(valid_object_name("svc_veeamtransport"));
    CHECK_FALSE(valid_object_name(".hidden"));
    CHECK_FALSE(valid_object_name(std::string(65, 'a')));
    CHECK(valid_vg_name("vg+x_y.z-1"));
    CHECK_FALSE(valid_vg_name(".."));
    CHECK_FALSE(valid_vg_name("-vg"));
}

TEST_CASE("did-you-mean picks a close key, or nothing") {
    std::vector<std::string> keys = {"name", "addresses", "vm_uuid", "priority"};
    CHECK(closest("adresses", keys) == std::string("addresses"));
    CHECK(closest("Name", keys) == std::string("name"));
    CHECK(closest("prioirty", keys) == std::string("priority"));  // a swap is one edit
    CHECK(closest("vmuuid", keys) == std::string("vm_uuid"));
    CHECK(closest("addr", keys) == std::string("addresses"));     // an unambiguous prefix
    CHECK_FALSE(closest("colour", keys));
    CHECK_FALSE(closest("", keys));
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("ab", "ba") == 1);
}

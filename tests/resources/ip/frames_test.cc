// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "net/ip/frames.h"

using namespace veeamha::net::ip;

namespace {
const Mac kOwn{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
IpAddress v4(const char* t) { return *IpAddress::parse(AF_INET, t); }
IpAddress v6(const char* t) { return *IpAddress::parse(AF_INET6, t); }
}  // namespace

TEST_CASE("ARP probe: sender IP 0.0.0.0, target the address, broadcast") {
    Frame f = arp_probe(kOwn, v4("198.51.100.100"));
    REQUIRE(f.size() == 42);
    CHECK(Mac{f[0], f[1], f[2], f[3], f[4], f[5]} == kBroadcastMac);
    CHECK(f[12] == 0x08);
    CHECK(f[13] == 0x06);
    auto arp = parse_arp(f.data(), f.size());
    REQUIRE(arp);
    CHECK(arp->op == 1);
    CHECK(arp->eth_source == kOwn);
    CHECK(arp->sender_mac == kOwn);
    CHECK(arp->sender_ip.text() == "0.0.0.0");
    CHECK(arp->target_ip.text() == "198.51.100.100");
    CHECK(arp->target_mac == Mac{});
}

TEST_CASE("gratuitous ARP request and reply: sender = target = the address") {
    auto req = parse_arp(arp_announce(kOwn, v4("10.0.0.8")).data(), 42);
    REQUIRE(req);
    CHECK(req->op == 1);
    CHECK(req->sender_ip.text() == "10.0.0.8");
    CHECK(req->target_ip.text() == "10.0.0.8");
    Frame rf = arp_reply_announce(kOwn, v4("10.0.0.8"));
    auto rep = parse_arp(rf.data(), rf.size());
    REQUIRE(rep);
    CHECK(rep->op == 2);
    CHECK(rep->sender_mac == kOwn);
    CHECK(rep->sender_ip == rep->target_ip);
}

TEST_CASE("parse_arp rejects what is not IPv4-over-Ethernet ARP") {
    Frame f = arp_announce(kOwn, v4("10.0.0.8"));
    CHECK_FALSE(parse_arp(f.data(), 41));
    Frame other = f;
    other[13] = 0x00;  // IPv4 ethertype
    CHECK_FALSE(parse_arp(other.data(), other.size()));
    other = f;
    other[19] = 6;  // protocol address length
    CHECK_FALSE(parse_arp(other.data(), other.size()));
}

TEST_CASE("solicited-node group and multicast MAC") {
    IpAddress g = solicited_node_multicast(v6("2001:db8:5::100"));
    CHECK(g.text() == "ff02::1:ff00:100");
    CHECK(mac_text(ipv6_multicast_mac(g)) == "33:33:ff:00:01:00");
}

TEST_CASE("ICMPv6 checksum: RFC 1071 example plus the pseudo-header") {
    // RFC 1071 4.1: the words 0001 f203 f4f5 f6f7 sum to ddf2. The pseudo-header adds the
    // upper-layer length (8) and next header (58): ddf2 + 8 + 3a = de34, complement 21cb.
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    IpAddress zero;
    zero.family = AF_INET6;
    CHECK(icmpv6_checksum(zero, zero, data, sizeof data) == 0x21cb);
}

TEST_CASE("DAD solicitation: from ::, to the solicited-node group, hop limit 255, no options") {
    Frame f = ndp_dad_solicitation(kOwn, v6("2001:db8:5::100"));
    REQUIRE(f.size() == 14 + 40 + 24);
    CHECK(mac_text(Mac{f[0], f[1], f[2], f[3], f[4], f[5]}) == "33:33:ff:00:01:00");
    CHECK(f[14 + 7] == 255);
    auto nd = parse_ndp(f.data(), f.size());
    REQUIRE(nd);  // parse verifies the checksum
    CHECK(nd->type == 135);
    CHECK(nd->source.text() == "::");
    CHECK(nd->target.text() == "2001:db8:5::100");
    CHECK_FALSE(nd->link_layer);
}

TEST_CASE("unsolicited NA: to all nodes, override set, solicited clear, target MAC option") {
    Frame f = ndp_unsolicited_advertisement(kOwn, v6("2001:db8:5::100"));
    REQUIRE(f.size() == 14 + 40 + 32);
    CHECK(mac_text(Mac{f[0], f[1], f[2], f[3], f[4], f[5]}) == "33:33:00:00:00:01");
    auto nd = parse_ndp(f.data(), f.size());
    REQUIRE(nd);
    CHECK(nd->type == 136);
    CHECK(nd->override_flag);
    CHECK_FALSE(nd->solicited_flag);
    CHECK(nd->source.text() == "2001:db8:5::100");
    CHECK(nd->target.text() == "2001:db8:5::100");
    REQUIRE(nd->link_layer);
    CHECK(*nd->link_layer == kOwn);

    Frame bad = f;
    bad[14 + 7] = 64;  // hop limit: receivers must drop it
    CHECK_FALSE(parse_ndp(bad.data(), bad.size()));
    bad = f;
    bad.back() ^= 0x01;  // checksum no longer matches
    CHECK_FALSE(parse_ndp(bad.data(), bad.size()));
    CHECK_FALSE(parse_ndp(f.data(), f.size() - 9));  // truncated payload
}

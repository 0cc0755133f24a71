// SPDX-License-Identifier: GPL-2.0-or-later
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "net/ip/netlink.h"

using namespace veeamha::net::ip;

namespace {

std::map<uint16_t, std::vector<uint8_t>> attributes(const nlmsghdr* nlh) {
    std::map<uint16_t, std::vector<uint8_t>> out;
    mnl_attr_parse(nlh, sizeof(ifaddrmsg), [](const nlattr* a, void* data) -> int {
        auto* m = static_cast<std::map<uint16_t, std::vector<uint8_t>>*>(data);
        const auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
        (*m)[mnl_attr_get_type(a)] = std::vector<uint8_t>(p, p + mnl_attr_get_payload_len(a));
        return MNL_CB_OK;
    }, &out);
    return out;
}

}  // namespace

TEST_CASE("IPv4 RTM_NEWADDR carries local, address, label and broadcast") {
    AddressRequest req;
    req.ifindex = 7;
    req.address = *IpAddress::parse(AF_INET, "192.168.22.208");
    req.prefix = 24;
    req.label = "ens192:vip";
    req.broadcast = ipv4_broadcast(req.address, 24);
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = compose_address_request(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 42, req);
    CHECK(nlh->nlmsg_type == RTM_NEWADDR);
    CHECK(nlh->nlmsg_flags == (NLM_F_CREATE | NLM_F_EXCL));
    CHECK(nlh->nlmsg_seq == 42u);
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    CHECK(ifa->ifa_family == AF_INET);
    CHECK(ifa->ifa_prefixlen == 24);
    CHECK(ifa->ifa_index == 7u);
    auto attrs = attributes(nlh);
    CHECK(attrs[IFA_LOCAL] == std::vector<uint8_t>{192, 168, 22, 208});
    CHECK(attrs[IFA_ADDRESS] == std::vector<uint8_t>{192, 168, 22, 208});
    CHECK(attrs[IFA_BROADCAST] == std::vector<uint8_t>{192, 168, 22, 255});
    CHECK(std::string(attrs[IFA_LABEL].begin(), attrs[IFA_LABEL].end()) == std::string("ens192:vip\0", 11));
    CHECK(attrs.count(IFA_FLAGS) == 0);

    // What the kernel sends back has the same shape: the parser reads our own message.
    auto info = parse_address_message(nlh);
    REQUIRE(info);
    CHECK(info->address.text() == "192.168.22.208");
    CHECK(info->prefix == 24);
    CHECK(info->label == "ens192:vip");
    REQUIRE(info->broadcast);
    CHECK(info->broadcast->text() == "192.168.22.255");
}

TEST_CASE("IPv6 RTM_NEWADDR carries NODAD and never a label or broadcast") {
    AddressRequest req;
    req.ifindex = 3;
    req.address = *IpAddress::parse(AF_INET6, "fd00::8");
    req.prefix = 64;
    req.label = "eth0:x";  // ignored for IPv6 (the resource refuses it before)
    req.flags = IFA_F_NODAD;
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = compose_address_request(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 1, req);
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    CHECK(ifa->ifa_family == AF_INET6);
    CHECK(ifa->ifa_prefixlen == 64);
    CHECK(ifa->ifa_flags == IFA_F_NODAD);
    auto attrs = attributes(nlh);
    CHECK(attrs[IFA_LOCAL].size() == 16);
    CHECK(attrs.count(IFA_LABEL) == 0);
    CHECK(attrs.count(IFA_BROADCAST) == 0);
    REQUIRE(attrs[IFA_FLAGS].size() == 4);
    uint32_t flags;
    std::memcpy(&flags, attrs[IFA_FLAGS].data(), 4);
    CHECK(flags == IFA_F_NODAD);
}

TEST_CASE("RTM_DELADDR names only the address and prefix") {
    AddressRequest req;
    req.ifindex = 3;
    req.address = *IpAddress::parse(AF_INET, "10.1.2.3");
    req.prefix = 16;
    req.label = "eth0:x";
    req.broadcast = ipv4_broadcast(req.address, 16);
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = compose_address_request(buf, RTM_DELADDR, 0, 5, req);
    auto attrs = attributes(nlh);
    CHECK(attrs.size() == 2);
    CHECK(attrs.count(IFA_LOCAL) == 1);
    CHECK(attrs.count(IFA_ADDRESS) == 1);
}

TEST_CASE("IPv4 broadcast from the prefix, none for /31 and /32") {
    auto a = *IpAddress::parse(AF_INET, "192.168.22.208");
    CHECK(ipv4_broadcast(a, 24)->text() == "192.168.22.255");
    CHECK(ipv4_broadcast(a, 30)->text() == "192.168.22.211");
    CHECK(ipv4_broadcast(a, 0)->text() == "255.255.255.255");
    CHECK_FALSE(ipv4_broadcast(a, 31));
    CHECK_FALSE(ipv4_broadcast(a, 32));
    CHECK_FALSE(ipv4_broadcast(*IpAddress::parse(AF_INET6, "fd00::1"), 64));
}

TEST_CASE("addresses and MACs parse and print") {
    CHECK_FALSE(IpAddress::parse(AF_INET, "192.168.22.300"));
    CHECK_FALSE(IpAddress::parse(AF_INET, "fd00::1"));
    CHECK(IpAddress::parse(AF_INET6, "FD00:0::1")->text() == "fd00::1");
    CHECK(*IpAddress::parse(AF_INET, "10.0.0.1") == *IpAddress::parse(AF_INET, "10.0.0.1"));
    CHECK_FALSE(*IpAddress::parse(AF_INET, "10.0.0.1") == *IpAddress::parse(AF_INET, "10.0.0.2"));
    CHECK(mac_text(Mac{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}) == "de:ad:be:ef:00:01");
}

// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/frames.h"

#include <arpa/inet.h>
#include <net/ethernet.h>

#include <cstring>

namespace veeamha::net::ip {
namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kArpBody = 28;
constexpr size_t kIpv6Header = 40;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kNdpNs = 135;
constexpr uint8_t kNdpNa = 136;

void put16(Frame& f, uint16_t v) {
    f.push_back(static_cast<uint8_t>(v >> 8));
    f.push_back(static_cast<uint8_t>(v & 0xff));
}
void put(Frame& f, const uint8_t* p, size_t n) { f.insert(f.end(), p, p + n); }
void put(Frame& f, const Mac& m) { put(f, m.data(), m.size()); }
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void ethernet_header(Frame& f, const Mac& dst, const Mac& src, uint16_t type) {
    put(f, dst);
    put(f, src);
    put16(f, type);
}

Frame arp(uint16_t op, const Mac& own, const IpAddress& sender_ip, const Mac& target_mac, const IpAddress& target_ip) {
    Frame f;
    f.reserve(kEthHeader + kArpBody);
    ethernet_header(f, kBroadcastMac, own, ETHERTYPE_ARP);
    put16(f, 1);             // hardware: Ethernet
    put16(f, ETHERTYPE_IP);  // protocol: IPv4
    f.push_back(6);
    f.push_back(4);
    put16(f, op);
    put(f, own);
    put(f, sender_ip.bytes.data(), 4);
    put(f, target_mac);
    put(f, target_ip.bytes.data(), 4);
    return f;
}

IpAddress zero_ip(int family) {
    IpAddress a;
    a.family = family;
    return a;
}

IpAddress all_nodes() {
    IpAddress a;
    a.family = AF_INET6;
    a.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return a;
}

Frame ipv6_icmp(const Mac& eth_dst, const Mac& own, const IpAddress& src, const IpAddress& dst,
                const std::vector<uint8_t>& icmp_in) {
    std::vector<uint8_t> icmp = icmp_in;
    icmp[2] = icmp[3] = 0;
    uint16_t sum = icmpv6_checksum(src, dst, icmp.data(), icmp.size());
    icmp[2] = static_cast<uint8_t>(sum >> 8);
    icmp[3] = static_cast<uint8_t>(sum & 0xff);
    Frame f;
    f.reserve(kEthHeader + kIpv6Header + icmp.size());
    ethernet_header(f, eth_dst, own, ETHERTYPE_IPV6);
    f.push_back(0x60);  // version 6, traffic class 0, flow label 0
    f.push_back(0);
    f.push_back(0);
    f.push_back(0);
    put16(f, static_cast<uint16_t>(icmp.size()));
    f.push_back(kIcmpv6);
    f.push_back(255);  // NDP requires hop limit 255 (RFC 4861 7.1.1): receivers drop others
    put(f, src.bytes.data(), 16);
    put(f, dst.bytes.data(), 16);
    put(f, icmp.data(), icmp.size());
    return f;
}

}  // namespace

Frame arp_probe(const Mac& own, const IpAddress& ip) { return arp(1, own, zero_ip(AF_INET), Mac{}, ip); }
Frame arp_announce(const Mac& own, const IpAddress& ip) { return arp(1, own, ip, Mac{}, ip); }
Frame arp_reply_announce(const Mac& own, const IpAddress& ip) { return arp(2, own, ip, kBroadcastMac, ip); }

std::optional<ArpPacket> parse_arp(const uint8_t* p, size_t len) {
    if (len < kEthHeader + kArpBody || get16(p + 12) != ETHERTYPE_ARP) return std::nullopt;
    const uint8_t* a = p + kEthHeader;
    if (get16(a) != 1 || get16(a + 2) != ETHERTYPE_IP || a[4] != 6 || a[5] != 4) return std::nullopt;
    ArpPacket out;
    std::memcpy(out.eth_source.data(), p + 6, 6);
    out.op = get16(a + 6);
    std::memcpy(out.sender_mac.data(), a + 8, 6);
    out.sender_ip.family = AF_INET;
    std::memcpy(out.sender_ip.bytes.data(), a + 14, 4);
    std::memcpy(out.target_mac.data(), a + 18, 6);
    out.target_ip.family = AF_INET;
    std::memcpy(out.target_ip.bytes.data(), a + 24, 4);
    return out;
}

IpAddress solicited_node_multicast(const IpAddress& ip) {
    IpAddress g;
    g.family = AF_INET6;
    g.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, ip.bytes[13], ip.bytes[14], ip.bytes[15]};
    return g;
}

Mac ipv6_multicast_mac(const IpAddress& group) {
    return {0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]};
}

uint16_t icmpv6_checksum(const IpAddress& src, const IpAddress& dst, const uint8_t* icmp, size_t len) {
    uint32_t sum = 0;
    auto add = [&](const uint8_t* p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
        if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
    };
    add(src.bytes.data(), 16);
    add(dst.bytes.data(), 16);
    uint8_t tail[8] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                       static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 0, 0, 0, kIcmpv6};
    add(tail, 8);
    add(icmp, len);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

Frame ndp_dad_solicitation(const Mac& own, const IpAddress& ip) {
    IpAddress group = solicited_node_multicast(ip);
    std::vector<uint8_t> icmp{kNdpNs, 0, 0, 0, 0, 0, 0, 0};
    icmp.insert(icmp.end(), ip.bytes.begin(), ip.bytes.end());
    // No source link-layer option: RFC 4861 forbids it when the source is the unspecified address.
    return ipv6_icmp(ipv6_multicast_mac(group), own, zero_ip(AF_INET6), group, icmp);
}

Frame ndp_unsolicited_advertisement(const Mac& own, const IpAddress& ip) {
    std::vector<uint8_t> icmp{kNdpNa, 0, 0, 0, 0x20 /* override */, 0, 0, 0};
    icmp.insert(icmp.end(), ip.bytes.begin(), ip.bytes.end());
    icmp.push_back(2);  // option: target link-layer address
    icmp.push_back(1);  // length in units of 8 bytes
    icmp.insert(icmp.end(), own.begin(), own.end());
    IpAddress dst = all_nodes();
    return ipv6_icmp(ipv6_multicast_mac(dst), own, ip, dst, icmp);
}

std::optional<NdpPacket> parse_ndp(const uint8_t* p, size_t len) {
    if (len < kEthHeader + kIpv6Header + 24 || get16(p + 12) != ETHERTYPE_IPV6) return std::nullopt;
    const uint8_t* ip6 = p + kEthHeader;
    if ((ip6[0] >> 4) != 6 || ip6[6] != kIcmpv6 || ip6[7] != 255) return std::nullopt;
    size_t payload = get16(ip6 + 4);
    if (payload < 24 || kEthHeader + kIpv6Header + payload > len) return std::nullopt;
    const uint8_t* icmp = ip6 + kIpv6Header;
    if ((icmp[0] != kNdpNs && icmp[0] != kNdpNa) || icmp[1] != 0) return std::nullopt;
    NdpPacket out;
    out.source.family = AF_INET6;
    std::memcpy(out.source.bytes.data(), ip6 + 8, 16);
    IpAddress dst;
    dst.family = AF_INET6;
    std::memcpy(dst.bytes.data(), ip6 + 24, 16);
    if (icmpv6_checksum(out.source, dst, icmp, payload) != 0) return std::nullopt;
    std::memcpy(out.eth_source.data(), p + 6, 6);
    out.type = icmp[0];
    out.override_flag = (icmp[4] & 0x20) != 0;
    out.solicited_flag = (icmp[4] & 0x40) != 0;
    out.target.family = AF_INET6;
    std::memcpy(out.target.bytes.data(), icmp + 8, 16);
    for (size_t off = 24; off + 8 <= payload;) {  // options, 8-byte units
        uint8_t type = icmp[off], units = icmp[off + 1];
        if (units == 0 || off + units * 8u > payload) break;
        if ((type == 1 || type == 2) && units == 1) {
            Mac m;
            std::memcpy(m.data(), icmp + off + 2, 6);
            out.link_layer = m;
        }
        off += units * 8u;
    }
    return out;
}

}  // namespace veeamha::net::ip

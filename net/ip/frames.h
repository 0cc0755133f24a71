// SPDX-License-Identifier: GPL-2.0-or-later
// Ethernet frames the floating-IP resource sends and reads on a raw packet socket: ARP probes
// and announcements (RFC 5227), IPv6 neighbour solicitations for duplicate address detection
// and unsolicited neighbour advertisements (RFC 4861). Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "net/ip/netlink.h"

namespace veeamha::net::ip {

using Frame = std::vector<uint8_t>;

inline constexpr Mac kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

// "Who has IP? tell 0.0.0.0": asks whether anybody uses IP without claiming it (RFC 5227 probe).
Frame arp_probe(const Mac& own, const IpAddress& ip);
// Gratuitous ARP request: sender = target = IP, broadcast (what `arping -U` sends).
Frame arp_announce(const Mac& own, const IpAddress& ip);
// Gratuitous ARP reply: sender = target = IP, broadcast (what `arping -A` sends).
Frame arp_reply_announce(const Mac& own, const IpAddress& ip);

struct ArpPacket {
    uint16_t op = 0;  // 1 request, 2 reply
    Mac eth_source{};
    Mac sender_mac{};
    IpAddress sender_ip;
    Mac target_mac{};
    IpAddress target_ip;
};
// Parses an Ethernet frame carrying IPv4-over-Ethernet ARP.
std::optional<ArpPacket> parse_arp(const uint8_t* frame, size_t len);

// ff02::1:ffXX:XXXX for `ip`, and its Ethernet multicast MAC.
IpAddress solicited_node_multicast(const IpAddress& ip);
Mac ipv6_multicast_mac(const IpAddress& group);

// DAD neighbour solicitation: from ::, to the solicited-node group, target = IP, no options.
Frame ndp_dad_solicitation(const Mac& own, const IpAddress& ip);
// Unsolicited neighbour advertisement to all nodes (ff02::1): override flag, solicited flag
// clear, target link-layer address option = own MAC.
Frame ndp_unsolicited_advertisement(const Mac& own, const IpAddress& ip);

struct NdpPacket {
    uint8_t type = 0;  // 135 NS, 136 NA
    Mac eth_source{};
    IpAddress source;  // IPv6 source
    IpAddress target;
    bool override_flag = false;
    bool solicited_flag = false;
    std::optional<Mac> link_layer;  // source (NS) or target (NA) link-layer address option
};
// Parses an Ethernet frame carrying an IPv6 NS or NA (hop limit 255, checksum verified).
std::optional<NdpPacket> parse_ndp(const uint8_t* frame, size_t len);

// The ICMPv6 checksum over the pseudo-header and `icmp` (RFC 4443 2.3).
uint16_t icmpv6_checksum(const IpAddress& src, const IpAddress& dst, const uint8_t* icmp, size_t len);

}  // namespace veeamha::net::ip

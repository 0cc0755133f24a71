// SPDX-License-Identifier: GPL-2.0-or-later
// What the ip lab tests share: the floating address they move, and a counter of the ARP frames a
// namespace sees.
#pragma once

#include <net/if.h>
#include <linux/if_ether.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <thread>

#include "config/config.h"
#include "base/resource.h"
#include "net/ip/frames.h"
#include "net/ip/packet_socket.h"
#include "tests/resources/ip/netns_lab.h"

namespace veeamha::test {

inline constexpr const char* kVip4 = "198.51.100.100";
inline constexpr const char* kVip6 = "2001:db8:5::100";

inline config::IpSpec vip_spec(int family) {
    using namespace std::chrono_literals;
    config::IpSpec s;
    s.address.family = family;
    s.address.address = family == AF_INET ? kVip4 : kVip6;
    s.address.prefix = family == AF_INET ? 24 : 64;
    s.interface = "eth0";
    s.garp_count = 3;
    s.garp_interval = 50ms;
    s.garp_repeat_after = 0ms;
    return s;
}

inline base::OpContext op_context(std::chrono::milliseconds budget = std::chrono::seconds(5)) {
    base::OpContext c;
    c.deadline = base::Clock::now() + budget;
    return c;
}

// Counts the ARP frames namespace `ns` sees that match a predicate, on a thread of its own (no
// Catch2 macros there), until `enough` (0 = no limit) or `window` passed: what the wire
// carried, not what the sender believes it sent.
class ArpCounter {
public:
    using Match = std::function<bool(const net::ip::ArpPacket&)>;
    ArpCounter(const std::string& ns, Match match, int enough, std::chrono::milliseconds window)
        : thread_([this, ns, match, enough, window] {
              net::ip::PacketSocket s;
              bool ok = lab::enter_netns(ns) && s.open(static_cast<int>(::if_nametoindex("eth0")), ETH_P_ARP).empty();
              opened_ = ok;
              ready_ = true;
              if (!ok) return;
              s.receive_until(base::Clock::now() + window, [&](const uint8_t* f, size_t len) {
                  auto arp = net::ip::parse_arp(f, len);
                  if (arp && match(*arp)) ++count_;
                  return enough > 0 && count_.load() >= enough;
              });
          }) {
        while (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        REQUIRE(opened_.load());
    }
    ~ArpCounter() {
        if (thread_.joinable()) thread_.join();
    }
    int join() {
        thread_.join();
        return count_.load();
    }
    int count() const { return count_.load(); }

private:
    std::atomic<bool> ready_{false}, opened_{false};
    std::atomic<int> count_{0};
    std::thread thread_;
};

// A gratuitous ARP request for `vip` from `from`.
inline ArpCounter::Match gratuitous_arp(net::ip::IpAddress vip, net::ip::Mac from) {
    return [vip, from](const net::ip::ArpPacket& a) {
        return a.op == 1 && a.sender_mac == from && a.sender_ip == vip && a.target_ip == vip;
    };
}

// An RFC 5227 probe for `vip` (sender IP 0.0.0.0) from `from`.
inline ArpCounter::Match arp_probe_for(net::ip::IpAddress vip, net::ip::Mac from) {
    return [vip, from](const net::ip::ArpPacket& a) {
        net::ip::IpAddress zero;
        zero.family = AF_INET;
        return a.op == 1 && a.sender_mac == from && a.sender_ip == zero && a.target_ip == vip;
    };
}

}  // namespace veeamha::test

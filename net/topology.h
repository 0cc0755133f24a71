// SPDX-License-Identifier: GPL-2.0-or-later
// The part of the configuration net/ needs: who we are, who the peer is, one address each per
// link, the port and the timings.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace veeamha::net {

// Rounds one node leads before it hands the lead to the peer (net/heartbeat_service.h):
// 10 s at the default interval.
inline constexpr uint32_t kLeadRounds = 50;

struct Topology {
    std::string cluster;
    uint8_t self = 0;  // node index in the configuration
    uint8_t peer = 1;
    std::string self_name;
    std::string peer_name;
    std::vector<std::string> self_addresses;  // index = link
    std::vector<std::string> peer_addresses;
    uint16_t port = 5409;
    std::chrono::milliseconds interval{200};
    std::chrono::milliseconds timeout{1000};
    uint32_t lead_rounds = kLeadRounds;  // not a setting; tests shorten it

    size_t links() const { return self_addresses.size(); }

    // Throws std::invalid_argument when the config cannot be used (not two nodes, address
    // counts differ or exceed kMaxLinks, self_index out of range).
    static Topology from_config(const config::Config& config, int self_index);
};

}  // namespace veeamha::net

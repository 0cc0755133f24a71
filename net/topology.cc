// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/topology.h"

#include <stdexcept>

#include "net/frame.h"

namespace veeamha::net {

Topology Topology::from_config(const config::Config& config, int self_index) {
    if (config.nodes.size() != 2)
        throw std::invalid_argument("nodes: expected exactly two nodes, found " +
                                    std::to_string(config.nodes.size()));
    if (self_index < 0 || self_index > 1)
        throw std::invalid_argument("local node index " + std::to_string(self_index) +
                                    " is not 0 or 1");
    const auto& me = config.nodes[static_cast<size_t>(self_index)];
    const auto& other = config.nodes[static_cast<size_t>(1 - self_index)];
    if (me.addresses.empty() || me.addresses.size() != other.addresses.size())
        throw std::invalid_argument("nodes[].addresses: both nodes need the same number (>= 1) "
                                    "of link addresses");
    if (me.addresses.size() > kMaxLinks)
        throw std::invalid_argument("nodes[].addresses: at most " + std::to_string(kMaxLinks) +
                                    " links are supported");
    if (config.heartbeat.interval.count() <= 0 || config.heartbeat.timeout.count() <= 0)
        throw std::invalid_argument("heartbeat: interval and timeout must be positive");
    Topology t;
    t.cluster = config.cluster.name;
    t.self = static_cast<uint8_t>(self_index);
    t.peer = static_cast<uint8_t>(1 - self_index);
    t.self_name = me.name;
    t.peer_name = other.name;
    t.self_addresses = me.addresses;
    t.peer_addresses = other.addresses;
    t.port = config.heartbeat.port;
    t.interval = config.heartbeat.interval;
    t.timeout = config.heartbeat.timeout;
    return t;
}

}  // namespace veeamha::net

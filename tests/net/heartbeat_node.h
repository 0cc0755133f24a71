// SPDX-License-Identifier: GPL-2.0-or-later
// One node's HeartbeatService on loopback for the heartbeat tests, with what it heard.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "loopback_util.h"
#include "net/heartbeat_service.h"

namespace veeamha::net::test {

struct Node {
    std::vector<bool> up;
    std::vector<uint64_t> heard;
    std::vector<int> changes;
    uint64_t last_epoch = 0;
    // When the heartbeats reached the host, and how long the longest waited to be read.
    std::vector<Clock::time_point> last_arrived;
    Clock::duration longest_wait{};
    bool arrivals_out_of_order = false;
    PeerCodec codec;
    HeartbeatService service;

    Node(boost::asio::io_context& io, const SecretKey& key, Topology t, Identity id)
        : up(t.links()),
          heard(t.links()),
          changes(t.links()),
          last_arrived(t.links()),
          codec(key, t, id),
          service(io, codec, callbacks()) {}
    HeartbeatService::Callbacks callbacks() {
        HeartbeatService::Callbacks cb;
        cb.on_heartbeat = [this](size_t l, const wire::Heartbeat& hb, Clock::time_point arrived) {
            ++heard[l];
            last_epoch = hb.state().epoch();
            auto waited = Clock::now() - arrived;
            longest_wait = std::max(longest_wait, waited);
            if (arrived < last_arrived[l]) arrivals_out_of_order = true;
            last_arrived[l] = arrived;
        };
        cb.on_link_change = [this](size_t l, bool u) {
            up[l] = u;
            ++changes[l];
        };
        return cb;
    }
};

// Longer than any test runs: the roles of the start are kept.
inline constexpr uint32_t kNoHandover = 1000000;

// Rounds 50 ms apart, timeout 250 ms. The node listed first leads for `lead_rounds` rounds
// before it hands over.
inline std::unique_ptr<Node> make_node(boost::asio::io_context& io, const SecretKey& key, int self, uint16_t port,
                                       uint64_t gen, uint32_t lead_rounds = kNoHandover) {
    Topology t = loop_topology(self, port);
    t.lead_rounds = lead_rounds;
    return std::make_unique<Node>(io, key, t, Identity{gen, random_u64()});
}

// Two nodes on loops of their own, started (a node whose loop does not run is a stalled one).
struct Pair {
    std::unique_ptr<Node> a, b;
};
inline Pair start_pair(boost::asio::io_context& io_a, boost::asio::io_context& io_b,
                       uint32_t lead_rounds = kNoHandover) {
    SecretKey key = random_key();
    uint16_t port = free_port();
    Pair p{make_node(io_a, key, 0, port, 10, lead_rounds), make_node(io_b, key, 1, port, 20, lead_rounds)};
    p.a->service.start();
    p.b->service.start();
    return p;
}

}  // namespace veeamha::net::test

// SPDX-License-Identifier: GPL-2.0-or-later
// Two nodes on loopback for service tests: 127.X.Y.{1,2} (link 0) and 127.X.Y.{3,4} (link 1),
// X.Y from the test's PID so concurrent runs do not meet, and a port free on those addresses.
#pragma once

#include <unistd.h>

#include <utility>  // before Boost 1.74 Asio: awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "net/peer_channel.h"
#include "net_test_util.h"

namespace veeamha::net::test {

inline std::string loop_addr(int host) {
    int pid = static_cast<int>(::getpid());
    return "127." + std::to_string(1 + (pid >> 8) % 250) + "." + std::to_string(pid & 0xff) + "." +
           std::to_string(host);
}

// A port that is free for UDP and TCP on the test's loopback addresses.
inline uint16_t free_port() {
    namespace asio = boost::asio;
    asio::io_context io;
    for (int attempt = 0; attempt < 50; ++attempt) {
        asio::ip::udp::socket u(io);
        u.open(asio::ip::udp::v4());
        u.bind({asio::ip::make_address(loop_addr(1)), 0});
        uint16_t port = u.local_endpoint().port();
        boost::system::error_code ec;
        bool ok = true;
        for (int h : {2, 3, 4}) {
            asio::ip::udp::socket x(io);
            x.open(asio::ip::udp::v4());
            x.bind({asio::ip::make_address(loop_addr(h)), port}, ec);
            if (ec) ok = false;
        }
        for (int h : {1, 2, 3, 4}) {
            asio::ip::tcp::acceptor a(io);
            a.open(asio::ip::tcp::v4());
            a.bind({asio::ip::make_address(loop_addr(h)), port}, ec);
            if (ec) ok = false;
        }
        if (ok) return port;
    }
    throw std::runtime_error("no free port on loopback");
}

inline Topology loop_topology(int self, uint16_t port, size_t links = 2,
                              std::chrono::milliseconds interval = std::chrono::milliseconds(50),
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(250)) {
    Topology t = topology(self, "vbr-repo", links);
    t.self_addresses.clear();
    t.peer_addresses.clear();
    for (size_t l = 0; l < links; ++l) {
        std::string a = loop_addr(int(2 * l + 1)), b = loop_addr(int(2 * l + 2));
        t.self_addresses.push_back(self == 0 ? a : b);
        t.peer_addresses.push_back(self == 0 ? b : a);
    }
    t.port = port;
    t.interval = interval;
    t.timeout = timeout;
    return t;
}

// Channel timings for tests on loopback: everything in tenths of a second.
inline ChannelOptions fast_options() {
    using namespace std::chrono_literals;
    ChannelOptions o;
    o.timings.connect_timeout = 500ms;
    o.timings.handshake_timeout = 1000ms;
    o.timings.keepalive_interval = 200ms;
    o.timings.idle_timeout = 1000ms;
    o.backoff_initial = 20ms;
    o.backoff_max = 200ms;
    o.seed = 42;
    return o;
}

// Runs the io_context until `done()` or the bound passes; true if done.
inline bool run_until(boost::asio::io_context& io, std::function<bool()> done,
                      std::chrono::milliseconds bound) {
    auto end = std::chrono::steady_clock::now() + bound;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        io.run_for(std::chrono::milliseconds(5));
        if (io.stopped()) io.restart();
    }
    return true;
}

}  // namespace veeamha::net::test

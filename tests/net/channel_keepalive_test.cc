// SPDX-License-Identifier: GPL-2.0-or-later
// A quiet peer channel (heartbeats flow, so no keepalive frames) is watched by the kernel's TCP
// keepalive alone. One lost probe must not drop it: Linux applies TCP_USER_TIMEOUT to keepalive
// probes, and with the user timeout below the probes' own span a single lost probe or ACK closed
// the connection ("read: Connection timed out"; 25-50 reconnects in the 10-minute 5 %-loss run).
// Root: the test moves itself into a network namespace of its own, where it may drop its loopback
// traffic with iptables without touching the machine's.
#include <sched.h>

#include <catch2/catch.hpp>

#include "base/process.h"
#include "loopback_util.h"
#include "net/peer_channel.h"
#include "tests/common/skip.h"

using namespace veeamha::net;
using namespace veeamha::net::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

void must(const std::vector<std::string>& argv, const std::string& input = "") {
    veeamha::base::ProcessSpec spec;
    spec.argv = argv;
    spec.stdin_data = input;
    spec.deadline = veeamha::base::Clock::now() + 20s;
    auto r = veeamha::base::run_process(spec);
    if (!r.success()) FAIL(veeamha::base::format_command(argv) + ": " + r.describe() + "\n" + r.err);
}

// Every TCP segment on loopback dropped, both ways, or not.
void drop_tcp(bool on) {
    std::string rules = "*filter\n:VHL-DROP - [0:0]\n";
    if (on) rules += "-A VHL-DROP -p tcp -j DROP\n";
    rules += "COMMIT\n";
    must({"iptables-restore", "--noflush"}, rules);
}

struct Node {
    PeerCodec codec;
    PeerChannel channel;
    Node(asio::io_context& io, const SecretKey& key, int self, uint16_t port, uint64_t gen, ChannelOptions opt)
        : codec(key, loop_topology(self, port), Identity{gen, random_u64()}), channel(io, codec, opt, {}) {}
};

}  // namespace

TEST_CASE("a quiet channel survives a lost TCP keepalive probe") {
    if (::geteuid() != 0) VEEAMHA_SKIP_TEST("needs root (a network namespace of its own)");
    REQUIRE(::unshare(CLONE_NEWNET) == 0);
    must({"ip", "link", "set", "lo", "up"});
    must({"iptables-restore", "--noflush"},
         "*filter\n:VHL-DROP - [0:0]\n-A INPUT -j VHL-DROP\nCOMMIT\n");

    const ChannelOptions o = fast_options();
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Node a(io, key, 0, port, 10, o), b(io, key, 1, port, 20, o);
    a.channel.start();
    b.channel.start();
    REQUIRE(run_until(io, [&] { return a.channel.stats().connected && b.channel.stats().connected; }, 5s));
    const size_t link = a.channel.stats().link;
    a.channel.set_link_usable(link, true);
    b.channel.set_link_usable(link, true);
    const auto quiet = std::chrono::steady_clock::now();
    // The kernel's first probe goes out 5 s (TCP_KEEPIDLE) after the last segment received,
    // which is about when the channel went quiet; the next one a second later. Lose the first.
    run_until(io, [] { return false; }, 4300ms);
    drop_tcp(true);
    run_until(io, [] { return false; }, 1500ms);
    drop_tcp(false);
    // Past the second probe and its ACK, and past the moment the old user timeout (the idle
    // timeout, 1 s here) let the kernel give up.
    run_until(io, [] { return false; }, 2000ms);
    INFO("quiet for " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - quiet).count()
                      << " ms, TCP dropped from 4.3 s to 5.8 s");
    CHECK(a.channel.stats().disconnects == 0);
    CHECK(b.channel.stats().disconnects == 0);
    CHECK(a.channel.stats().connects == 1);
}

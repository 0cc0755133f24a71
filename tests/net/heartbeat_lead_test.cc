// SPDX-License-Identifier: GPL-2.0-or-later
// Who leads the heartbeat rounds (net/heartbeat_service.h): the lead changes hands every
// lead_rounds rounds; when both lead, the node listed second yields; a peer before protocol 1.1
// (no RoundRole in its heartbeats) leads by configuration order and is never handed the lead.
// Two nodes on loopback, real UDP sockets.
#include <catch2/catch.hpp>

#include "heartbeat_node.h"

using namespace veeamha::net;
using namespace veeamha::net::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

bool never_down(const Node& n) { return n.changes[0] == 1 && n.changes[1] == 1 && n.up[0] && n.up[1]; }

// Runs only `io` for `d`: the other node's loop is stalled, its sockets still receive.
void run_only(asio::io_context& io, std::chrono::milliseconds d) {
    run_until(io, [] { return false; }, d);
}

// A peer before protocol 1.1 at node `self`'s addresses: its heartbeats carry no RoundRole.
// The test drives it: a round on both links (`round`), or answers to what arrived (`read`).
struct OldPeer {
    Topology topo;
    PeerCodec codec;
    std::vector<std::unique_ptr<asio::ip::udp::socket>> sockets;
    HeartbeatIn in;
    std::vector<uint8_t> frame;

    OldPeer(asio::io_context& io, const SecretKey& key, int self, uint16_t port)
        : topo(loop_topology(self, port)), codec(key, topo, Identity{99, random_u64()}) {
        for (size_t l = 0; l < topo.links(); ++l) {
            auto s = std::make_unique<asio::ip::udp::socket>(io);
            s->open(asio::ip::udp::v4());
            s->bind({asio::ip::make_address(topo.self_addresses[l]), port});
            s->non_blocking(true);
            sockets.push_back(std::move(s));
        }
    }
    void send(size_t link) {
        veeamha::wire::Heartbeat hb;  // round left unset, as a 1.0 sender does
        REQUIRE_FALSE(codec.seal_heartbeat(static_cast<uint8_t>(link), hb, frame));
        sockets[link]->send_to(asio::buffer(frame),
                               {asio::ip::make_address(topo.peer_addresses[link]), topo.port});
    }
    void round() {
        for (size_t l = 0; l < sockets.size(); ++l) send(l);
    }
    // Reads what arrived (the codec learns the peer's incarnation from it); answers each
    // authentic heartbeat on its link when `answer`.
    void read(bool answer) {
        std::array<uint8_t, 2048> buf{};
        for (size_t l = 0; l < sockets.size(); ++l) {
            boost::system::error_code ec;
            for (size_t n; (n = sockets[l]->receive(asio::buffer(buf), 0, ec)) > 0 && !ec;) {
                auto dropped = codec.open_heartbeat(std::span<const uint8_t>(buf.data(), n), static_cast<uint8_t>(l), in);
                // Unbound: a peer that does not know this process yet; answered like the
                // service does, so that the next heartbeat it gets carries its incarnation.
                if (answer && (!dropped || *dropped == DropReason::Unbound)) send(l);
            }
        }
    }
};

}  // namespace

TEST_CASE("the lead changes hands every lead_rounds rounds: both nodes lead and answer, no link goes down") {
    asio::io_context io;
    auto [a, b] = start_pair(io, io, 10);  // one loop for both; turns of 10 rounds, 0.5 s
    CHECK(a->service.leading());  // the node listed first starts
    CHECK_FALSE(b->service.leading());
    // Handed over: the new leader reads the answers at its rounds at once (no quiet-round
    // ramp), the one that handed over reads at arrival (it answers now).
    REQUIRE(run_until(io, [&] { return b->service.leading() && b->service.links_read_on_tick() == 2; }, 5s));
    CHECK(a->service.links_read_on_tick() == 0);
    REQUIRE(run_until(io, [&] { return a->service.lead_changes() >= 4 && b->service.lead_changes() >= 4; }, 10s));
    INFO("a led " << a->service.rounds_on_timer() << " rounds and answered " << a->service.rounds_answering()
                  << "; b led " << b->service.rounds_on_timer() << " and answered " << b->service.rounds_answering());
    CHECK(a->service.rounds_on_timer() >= 15);
    CHECK(b->service.rounds_on_timer() >= 15);
    CHECK(a->service.rounds_answering() >= 10);
    CHECK(b->service.rounds_answering() >= 10);
    // Each read answers at its rounds while it led: the longest wait is most of a round.
    CHECK(a->longest_wait >= 30ms);
    CHECK(b->longest_wait >= 30ms);
    CHECK(never_down(*a));
    CHECK(never_down(*b));
}

TEST_CASE("both lead after the leader's rounds stopped for a while: the node listed second yields") {
    asio::io_context io_a, io_b;

    SECTION("the node listed first led, and comes back") {
        auto [a, b] = start_pair(io_a, io_b);
        REQUIRE(run_until(io_a, [&] {
            io_b.poll();
            return never_down(*a) && never_down(*b) && b->service.rounds_answering() >= 3;
        }, 3s));
        // a stalls for three rounds (less than the timeout): b's deadline makes it lead.
        run_only(io_b, 150ms);
        CHECK(b->service.leading());
        const uint64_t answered = b->service.rounds_answering();
        // a's rounds resume: b yields and answers them; a never gave the lead up.
        REQUIRE(run_until(io_a, [&] {
            io_b.poll();
            return !b->service.leading() && b->service.rounds_answering() >= answered + 3;
        }, 3s));
        CHECK(a->service.leading());
        CHECK(a->service.lead_changes() == 0);
        CHECK(never_down(*a));
        CHECK(never_down(*b));
    }
    SECTION("the node listed second led, and comes back") {
        auto [a, b] = start_pair(io_a, io_b, 20);  // turns of 20 rounds, 1 s
        REQUIRE(run_until(io_a, [&] {
            io_b.poll();
            return b->service.leading();
        }, 5s));
        const uint64_t a_changes = a->service.lead_changes();
        // b stalls: a's deadline makes it lead again before b's turn is over.
        run_only(io_a, 150ms);
        CHECK(a->service.leading());
        CHECK(a->service.lead_changes() == a_changes + 1);
        // b's rounds resume; it finds a leading and yields.
        REQUIRE(run_until(io_a, [&] {
            io_b.poll();
            return !b->service.leading();
        }, 2s));
        CHECK(a->service.leading());
        CHECK(never_down(*a));
        CHECK(never_down(*b));
    }
}

TEST_CASE("a peer before protocol 1.1 leads by configuration order and is never handed the lead") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();

    SECTION("it is listed second: this node leads and keeps the lead") {
        auto a = make_node(io, key, 0, port, 10, 5);  // would hand over after 5 rounds
        OldPeer old_b(io, key, 1, port);
        a->service.start();
        REQUIRE(run_until(io, [&] {
            old_b.read(true);
            return a->service.rounds_on_timer() >= 20;
        }, 5s));
        CHECK(a->service.leading());
        CHECK(a->service.lead_changes() == 0);
        CHECK(never_down(*a));
    }
    SECTION("it is listed first: this node answers its rounds") {
        auto b = make_node(io, key, 1, port, 20, 5);
        OldPeer old_a(io, key, 0, port);
        b->service.start();
        auto next = std::chrono::steady_clock::now();
        REQUIRE(run_until(io, [&] {
            old_a.read(false);
            if (std::chrono::steady_clock::now() >= next) {
                old_a.round();
                next += 50ms;
            }
            return b->service.rounds_answering() >= 20;
        }, 5s));
        // Its deadline may make it lead now and then on a loaded machine; the next round of the
        // old peer makes it yield again.
        CHECK(b->service.rounds_answering() > b->service.rounds_on_timer());
        CHECK(never_down(*b));
    }
}

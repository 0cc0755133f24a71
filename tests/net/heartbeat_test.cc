// SPDX-License-Identifier: GPL-2.0-or-later
// HeartbeatService between two nodes on loopback (real UDP sockets), and LinkMonitor maths.
#include <catch2/catch.hpp>

#include "heartbeat_node.h"

#include <atomic>
#include <thread>

using namespace veeamha::net;
using namespace veeamha::net::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;


TEST_CASE("heartbeats flow on both links, carry state, measure RTT and no loss") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io, key, 0, port, 10);
    auto b = make_node(io, key, 1, port, 20);
    a->service.start();
    b->service.start();
    veeamha::wire::NodeState s;
    s.set_epoch(5);
    a->service.set_state(s);
    a->service.send_now();
    REQUIRE(run_until(io, [&] { return b->up[0] && b->up[1] && a->up[0] && a->up[1] && b->last_epoch == 5; }, 3s));
    REQUIRE(run_until(io, [&] { return b->heard[0] >= 10 && b->heard[1] >= 10; }, 3s));
    auto stats = b->service.link_stats();
    for (auto& st : stats) {
        CHECK(st.up);
        REQUIRE(st.rtt_ms.has_value());
        CHECK(*st.rtt_ms < 100.0);  // loopback; generous
        CHECK(st.loss == 0.0);
        CHECK(st.send_errors == 0);
    }
    CHECK(b->service.drops().total() == 0);
}

TEST_CASE("a silent peer takes each link down after the timeout - restart brings it back") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io, key, 0, port, 10);
    auto b = make_node(io, key, 1, port, 20);
    a->service.start();
    b->service.start();
    // Also when a reads its links at each round (the first node, links up and quiet).
    REQUIRE(run_until(io, [&] { return a->service.links_read_on_tick() == 2; }, 5s));
    auto t0 = std::chrono::steady_clock::now();
    b->service.stop();
    REQUIRE(run_until(io, [&] { return !a->up[0] && !a->up[1]; }, 3s));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= 250ms - 50ms);  // not before the timeout (minus one interval of last-heard age)
    CHECK(took < 250ms + 50ms + 200ms);  // timeout + one interval, plus scheduling slack
    CHECK_FALSE(a->service.any_link_up());
    CHECK(a->service.links_read_on_tick() == 0);  // a silent link is read at each arrival
    // The peer restarts as a new process (higher generation): links come back.
    b.reset();
    auto b2 = make_node(io, key, 1, port, 30);
    b2->service.start();
    REQUIRE(run_until(io, [&] { return a->up[0] && a->up[1]; }, 3s));
    CHECK(a->codec.peer_restarts() == 1);
}

TEST_CASE("a restarted peer is answered at once, not at the next round: both hear each other without a timer round") {
    // After a daemon restart the new process's heartbeats count for its peer only once they
    // carry the peer's incarnation, which it learns from the peer's first heartbeat to it. With
    // rounds 2 s apart, both directions must be bound by answers alone: no round of either
    // node's timer may be needed (counted, not timed). Either node restarts: first a, then b.
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto slow = [&](int self, uint64_t gen) {
        return std::make_unique<Node>(io, key, loop_topology(self, port, 2, 2000ms, 10000ms),
                                      Identity{gen, random_u64()});
    };
    auto a = slow(0, 10);
    auto b = slow(1, 20);
    a->service.start();
    b->service.start();
    REQUIRE(run_until(io, [&] { return a->up[0] && a->up[1] && b->up[0] && b->up[1]; }, 6s));

    for (int restart = 0; restart < 2; ++restart) {
        std::unique_ptr<Node>& gone = restart == 0 ? a : b;
        std::unique_ptr<Node>& stays = restart == 0 ? b : a;
        gone.reset();  // killed: its sockets close
        gone = slow(restart == 0 ? 0 : 1, 30 + static_cast<uint64_t>(restart));
        // Right after a round of the node that stays, so that its next one is 2 s away.
        const uint64_t before_round = stays->service.rounds_on_timer();
        REQUIRE(run_until(io, [&] { return stays->service.rounds_on_timer() > before_round; }, 5s));
        const uint64_t stays_rounds = stays->service.rounds_on_timer();
        const uint64_t heard_before = stays->heard[0] + stays->heard[1];
        gone->service.start();  // its first heartbeats are not bound yet
        REQUIRE(run_until(io, [&] {
            return gone->up[0] && gone->up[1] && stays->heard[0] + stays->heard[1] > heard_before;
        }, 6s));
        INFO("restart of " << (restart == 0 ? "a" : "b"));
        CHECK(gone->service.rounds_on_timer() == 0);
        CHECK(stays->service.rounds_on_timer() == stays_rounds);
        CHECK(stays->codec.peer_restarts() == 1);  // (the restarted a had known only the first b)
        CHECK(stays->service.drops().get(DropReason::Unbound) >= 1);
    }
}

TEST_CASE("the node listed second answers the first one's heartbeats, and keeps its timer when they stop") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io, key, 0, port, 10);
    auto b = make_node(io, key, 1, port, 20);
    a->service.start();
    b->service.start();
    // Its sends ride on the wake-ups of its receives. Its timer sends only when a's heartbeat
    // is more than a tenth of an interval late (5 ms here), which a loaded machine makes happen
    // now and then: most rounds are answers.
    REQUIRE(run_until(io, [&] { return b->service.rounds_answering() >= 10; }, 5s));
    CHECK(b->service.rounds_on_timer() < b->service.rounds_answering());
    CHECK(a->service.rounds_answering() == 0);  // the first node keeps its own clock
    CHECK(a->service.rounds_on_timer() >= 9);
    // Both links arrive together: one answer per round, not one per link.
    CHECK(b->service.rounds_answering() <= a->service.rounds_on_timer() + 1);
    // Without the first node's heartbeats it still sends, on its timer.
    a->service.stop();
    uint64_t before = b->service.rounds_on_timer();
    REQUIRE(run_until(io, [&] { return b->service.rounds_on_timer() >= before + 5; }, 3s));
}

TEST_CASE("the first node reads the answers at its next round, each with the time it arrived") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io, key, 0, port, 10);
    auto b = make_node(io, key, 1, port, 20);
    a->service.start();
    b->service.start();
    // Until a link is up and quiet for 25 rounds (1.25 s), a reads it at each arrival.
    CHECK(a->service.links_read_on_tick() == 0);
    REQUIRE(run_until(io, [&] { return a->service.links_read_on_tick() == 2; }, 5s));
    CHECK(b->service.links_read_on_tick() == 0);  // it answers, so it reads at once
    a->longest_wait = b->longest_wait = {};
    const uint64_t heard = a->heard[0];
    REQUIRE(run_until(io, [&] { return a->heard[0] >= heard + 20 && a->heard[1] >= heard + 20; }, 5s));
    // An answer arrives just after a round is sent and is read just before the next (50 ms):
    // what it reports is its arrival, most of a round before it was read.
    CHECK(a->longest_wait >= 30ms);
    CHECK(b->longest_wait < 30ms);
    CHECK_FALSE(a->arrivals_out_of_order);
    CHECK(a->up[0]);
    CHECK(a->up[1]);
}

TEST_CASE("poll reads a heartbeat that waits in the socket, at once") {
    asio::io_context io_a, io_b;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io_a, key, 0, port, 10);
    auto b = make_node(io_b, key, 1, port, 20);
    b->service.start();
    a->service.start();  // its first heartbeat reaches b, whose answers are then bound to a
    // a's loop does not run: b sends on its own timer (every 55 ms without a's heartbeats).
    REQUIRE(run_until(io_b, [&] { return b->service.rounds_on_timer() >= 2; }, 2s));
    CHECK(a->heard[0] == 0);
    a->service.poll();
    CHECK(a->heard[0] >= 2);
    CHECK(a->heard[1] >= 2);
}

TEST_CASE("a burst on a link of the first node makes it read that link at arrival, until quiet again") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io, key, 0, port, 10);
    auto b = make_node(io, key, 1, port, 20);
    a->service.start();
    b->service.start();
    REQUIRE(run_until(io, [&] { return a->service.links_read_on_tick() == 2; }, 5s));
    // 50 datagrams inside one round on link 0 (from a stranger: dropped, but read).
    asio::ip::udp::socket rogue(io);
    rogue.open(asio::ip::udp::v4());
    rogue.bind({asio::ip::make_address(loop_addr(9)), 0});
    std::vector<uint8_t> junk(100, 0x42);
    for (int i = 0; i < 50; ++i) rogue.send_to(asio::buffer(junk), {asio::ip::make_address(loop_addr(1)), port});
    REQUIRE(run_until(io, [&] { return a->service.links_read_on_tick() == 1; }, 2s));
    // Read at arrival now: the next datagrams are dropped without waiting for a round.
    const uint64_t foreign = a->service.drops().get(DropReason::ForeignSource);
    CHECK(foreign == 50);
    for (int i = 0; i < 3; ++i) rogue.send_to(asio::buffer(junk), {asio::ip::make_address(loop_addr(1)), port});
    REQUIRE(run_until(io, [&] { return a->service.drops().get(DropReason::ForeignSource) == foreign + 3; }, 2s));
    // 25 quiet rounds later (1.25 s) it reads at each round again; the links stayed up.
    CHECK(a->service.links_read_on_tick() == 1);
    REQUIRE(run_until(io, [&] { return a->service.links_read_on_tick() == 2; }, 5s));
    CHECK(a->up[0]);
    CHECK(a->up[1]);
    CHECK(a->changes[0] == 1);
}

TEST_CASE("datagrams from an unconfigured address are dropped as foreign") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto a = make_node(io, key, 0, port, 10);
    a->service.start();
    asio::ip::udp::socket rogue(io);
    rogue.open(asio::ip::udp::v4());
    rogue.bind({asio::ip::make_address(loop_addr(9)), 0});
    std::vector<uint8_t> junk(100, 0x42);
    for (int i = 0; i < 5; ++i)
        rogue.send_to(asio::buffer(junk), {asio::ip::make_address(loop_addr(1)), port});
    REQUIRE(run_until(io, [&] { return a->service.drops().get(DropReason::ForeignSource) == 5; }, 2s));
    CHECK(a->service.link_stats()[0].dropped == 5);
}

TEST_CASE("link monitor: RTT from echo, loss from seq gaps, silence") {
    LinkMonitor m;
    auto t = veeamha::net::Clock::time_point(std::chrono::seconds(1000));
    m.on_sent(1, t);
    m.on_sent(2, t + 100ms);
    veeamha::wire::Heartbeat hb;
    hb.set_incarnation(7);
    hb.set_seq(1);
    hb.set_echo_seq(1);
    hb.set_echo_delay_us(3000);
    CHECK(m.on_heartbeat(hb, t + 13ms));  // goes up
    REQUIRE(m.stats().rtt_ms);
    CHECK(*m.stats().rtt_ms == Approx(10.0));
    // The same echo again is not a new measurement.
    hb.set_seq(2);
    CHECK_FALSE(m.on_heartbeat(hb, t + 500ms));
    CHECK(*m.stats().last_rtt_ms == Approx(10.0));
    // Seqs 3..5 missing, 6 arrives: 3 of 6 received.
    hb.set_seq(6);
    m.on_heartbeat(hb, t + 600ms);
    CHECK(m.stats().loss == Approx(3.0 / 6.0));
    hb.set_seq(4);  // late, within the window
    m.on_heartbeat(hb, t + 610ms);
    CHECK(m.stats().loss == Approx(2.0 / 6.0));
    CHECK_FALSE(m.check_silence(t + 610ms + 999ms, 1s));
    CHECK(m.check_silence(t + 610ms + 1s, 1s));
    CHECK_FALSE(m.stats().up);
    CHECK(m.stats().went_down == 1);
    // Echo for the peer.
    veeamha::wire::Heartbeat out;
    m.fill_echo(out, t + 700ms);
    CHECK(out.echo_seq() == 6);
    CHECK(out.echo_delay_us() == 100000);
}

TEST_CASE("a stalled receiving thread does not call a link silent when heartbeats arrived meanwhile") {
    asio::io_context io_a, io_b;
    auto [a, b] = start_pair(io_a, io_b);
    REQUIRE(run_until(io_a, [&] {
        io_b.poll();
        return a->up[0] && a->up[1];
    }, 3s));
    // b keeps sending from its own thread; a's thread is stalled for 3 timeouts.
    std::atomic<bool> stop{false};
    std::thread tb([&] {
        while (!stop) io_b.run_for(5ms);
    });
    std::this_thread::sleep_for(750ms);
    // When a runs again, its silence timers are overdue, but the datagrams are in its sockets
    // with their kernel arrival times: no link goes down.
    run_until(io_a, [] { return false; }, 100ms);
    stop = true;
    tb.join();
    CHECK(a->changes[0] == 1);  // only the initial "up"
    CHECK(a->changes[1] == 1);
    CHECK(a->up[0]);
    CHECK(a->up[1]);
}

TEST_CASE("after a stall, silence is measured from the kernel arrival time of the last heartbeat") {
    asio::io_context io_a, io_b;
    auto [a, b] = start_pair(io_a, io_b);
    REQUIRE(run_until(io_a, [&] {
        io_b.poll();
        return a->up[0] && a->up[1];
    }, 3s));
    // a stalls; b sends for a while, then dies; a's stall lasts well past b's last heartbeat
    // plus the timeout (250 ms).
    auto b_until = std::chrono::steady_clock::now() + 300ms;
    while (std::chrono::steady_clock::now() < b_until) io_b.run_for(5ms);
    b->service.stop();
    std::this_thread::sleep_for(700ms);
    auto resumed = std::chrono::steady_clock::now();
    REQUIRE(run_until(io_a, [&] { return !a->up[0] && !a->up[1]; }, 2s));
    // Down at once: the heartbeats waiting in the socket are old, not "heard now".
    CHECK(std::chrono::steady_clock::now() - resumed < 150ms);
}

TEST_CASE("answers to unbound heartbeats are bounded: a replay flood does not set this node's send rate") {
    // Frames of a peer process that never heard this one are authentic and unbound (a restarted
    // peer, or a replay of an old process's frames). Each asks for an answer at once, but at
    // most one per quarter interval: 100 of them in about a second, rounds 2 s apart, get 3 or
    // 4 sends (counted at the peer's address), not one per frame.
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Topology ta = loop_topology(0, port, 1, 2000ms, 10000ms);
    auto a = std::make_unique<Node>(io, key, ta, Identity{10, random_u64()});
    PeerCodec old_b(key, loop_topology(1, port, 1, 2000ms, 10000ms), Identity{20, random_u64()});
    // The replayer sits at the peer's address and port: it sends the frames and counts what a
    // sends to the peer.
    asio::ip::udp::socket replayer(io);
    replayer.open(asio::ip::udp::v4());
    replayer.bind({asio::ip::make_address(ta.peer_addresses[0]), port});
    replayer.non_blocking(true);
    const asio::ip::udp::endpoint to_a(asio::ip::make_address(ta.self_addresses[0]), port);
    auto received = [&] {
        size_t n = 0;
        std::array<uint8_t, 2048> buf{};
        boost::system::error_code ec;
        while (replayer.receive(asio::buffer(buf), 0, ec) > 0 && !ec) ++n;
        return n;
    };
    a->service.start();
    REQUIRE(run_until(io, [&] { return a->service.link_stats()[0].sent >= 1; }, 2s));
    received();  // a's first round

    size_t answers = 0;
    std::vector<uint8_t> frame;
    const auto t0 = veeamha::net::Clock::now();
    for (int i = 0; i < 100; ++i) {
        veeamha::wire::Heartbeat hb;
        REQUIRE_FALSE(old_b.seal_heartbeat(0, hb, frame));
        replayer.send_to(asio::buffer(frame), to_a);
        io.run_for(10ms);  // the flood's pace: one frame every 10 ms
        answers += received();
    }
    // A loaded machine stretches the flood: the bound is per elapsed time (one answer per
    // quarter interval, one round per interval, each plus one for where the window falls).
    const auto elapsed = veeamha::net::Clock::now() - t0;
    const size_t allowed = static_cast<size_t>(elapsed / 500ms) + 1 + static_cast<size_t>(elapsed / 2000ms) + 1;
    INFO("a sent " << answers << " heartbeats during the flood of "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms (allowed "
                   << allowed << ")");
    CHECK(a->service.drops().get(DropReason::Unbound) >= 100);
    CHECK(answers >= 1);  // answered at once, not at the next round
    CHECK(answers <= allowed);
}

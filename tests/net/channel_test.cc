// SPDX-License-Identifier: GPL-2.0-or-later
// PeerChannel between two nodes on loopback (real TCP): handshake, tie-break, exactly-once
// delivery across reconnects, peer restart, bounded queues, refused peers.
#include <catch2/catch.hpp>

#include "loopback_util.h"
#include "net/net_error.h"
#include "net/peer_channel.h"
#include "proto/version.h"

using namespace veeamha::net;
using namespace veeamha::net::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using veeamha::wire::PeerMessage;

namespace {

struct Node {
    std::vector<std::string> got;  // file_sync paths, in delivery order
    int connected = 0, disconnected = 0, incompatible = 0;
    uint64_t last_peer_incarnation = 0;
    PeerCodec codec;
    PeerChannel channel;

    Node(asio::io_context& io, const SecretKey& key, int self, uint16_t port, uint64_t gen,
         ChannelOptions opt)
        : codec(key, loop_topology(self, port), Identity{gen, random_u64()}),
          channel(io, codec, opt, callbacks()) {}
    PeerChannel::Callbacks callbacks() {
        PeerChannel::Callbacks cb;
        cb.on_message = [this](size_t, const PeerMessage& m) { got.push_back(m.file_sync().path()); };
        cb.on_connected = [this](size_t, uint64_t inc) {
            ++connected;
            last_peer_incarnation = inc;
        };
        cb.on_disconnected = [this] { ++disconnected; };
        cb.on_incompatible_peer = [this](uint32_t, uint32_t) { ++incompatible; };
        return cb;
    }
};

PeerMessage msg(const std::string& path) {
    PeerMessage m;
    m.mutable_file_sync()->set_path(path);
    return m;
}

std::vector<std::string> numbered(int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    return v;
}

bool same_connection(const ChannelStats& a, const ChannelStats& b) {
    return a.connected && b.connected && a.local == b.remote && a.remote == b.local;
}

}  // namespace

TEST_CASE("channel connects, and messages arrive once, in order, both ways") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Node a(io, key, 0, port, 10, fast_options());
    Node b(io, key, 1, port, 20, fast_options());
    CHECK(a.channel.send(msg("early")) == make_error_code(NetErrc::stopped));
    a.channel.start();
    CHECK(a.channel.send(msg("early")) == make_error_code(NetErrc::not_connected));
    b.channel.start();
    REQUIRE(run_until(io, [&] { return same_connection(a.channel.stats(), b.channel.stats()); }, 5s));
    CHECK(a.connected == 1);
    CHECK(b.connected == 1);
    CHECK(a.last_peer_incarnation == b.codec.identity().incarnation);
    CHECK(a.channel.stats().link == 0);  // link 0 preferred
    for (int i = 0; i < 200; ++i) {
        REQUIRE(!a.channel.send(msg(std::to_string(i))));
        REQUIRE(!b.channel.send(msg(std::to_string(i))));
    }
    REQUIRE(run_until(io, [&] { return a.got.size() == 200 && b.got.size() == 200; }, 5s));
    CHECK(a.got == numbered(0, 200));
    CHECK(b.got == numbered(0, 200));
    // Acks drain the resend buffers.
    REQUIRE(run_until(io, [&] { return a.channel.stats().unacked == 0 && b.channel.stats().unacked == 0; }, 2s));
    CHECK(a.codec.drops().total() == 0);
    CHECK(b.codec.drops().total() == 0);
}

TEST_CASE("while heartbeats flow on its link the channel is quiet: no keepalives, no idle timeout") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Node a(io, key, 0, port, 10, fast_options());
    Node b(io, key, 1, port, 20, fast_options());
    a.channel.start();
    b.channel.start();
    REQUIRE(run_until(io, [&] { return same_connection(a.channel.stats(), b.channel.stats()); }, 5s));
    // Idle without heartbeats: keepalives every 200 ms keep it up.
    REQUIRE(run_until(io, [&] { return a.channel.stats().keepalives >= 2 && b.channel.stats().keepalives >= 2; }, 3s));
    const size_t link = a.channel.stats().link;
    a.channel.set_link_usable(link, true);
    b.channel.set_link_usable(link, true);
    auto ka = a.channel.stats().keepalives, kb = b.channel.stats().keepalives;
    // Longer than the idle timeout (1 s) and five keepalive intervals: nothing is sent, and the
    // silence does not close the connection.
    run_until(io, [] { return false; }, 1500ms);
    CHECK(a.channel.stats().keepalives == ka);
    CHECK(b.channel.stats().keepalives == kb);
    CHECK(same_connection(a.channel.stats(), b.channel.stats()));
    CHECK(a.channel.stats().connects == 1);
    CHECK(a.channel.stats().disconnects == 0);
    // Messages still flow (acks too: nothing stays unacknowledged).
    REQUIRE(!a.channel.send(msg("quiet")));
    REQUIRE(run_until(io, [&] { return b.got.size() == 1 && a.channel.stats().unacked == 0; }, 2s));
}

TEST_CASE("both nodes dial at once: both keep the same connection, the one node 0 dialled") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto opt = fast_options();
    opt.dial_on_start = false;
    Node a(io, key, 0, port, 10, opt);
    Node b(io, key, 1, port, 20, opt);
    a.channel.start();
    b.channel.start();
    a.channel.dial_now();
    b.channel.dial_now();
    REQUIRE(run_until(io, [&] {
        auto sa = a.channel.stats(), sb = b.channel.stats();
        return same_connection(sa, sb) && sa.tiebreaks + sb.tiebreaks >= 1;
    }, 5s));
    // Settle: the loser is closed on both sides and nothing flaps.
    run_until(io, [] { return false; }, 300ms);
    auto sa = a.channel.stats(), sb = b.channel.stats();
    CHECK(same_connection(sa, sb));
    CHECK(sa.initiated_by_us);
    CHECK_FALSE(sb.initiated_by_us);
    CHECK(sa.dials == 1);
    CHECK(sb.dials == 1);
    CHECK(a.connected == 1);
    CHECK(b.connected == 1);
    CHECK(a.disconnected == 0);
    CHECK(b.disconnected == 0);
    REQUIRE(!b.channel.send(msg("x")));
    REQUIRE(run_until(io, [&] { return a.got.size() == 1; }, 2s));
}

TEST_CASE("a cut connection reconnects over the other link and nothing is lost or doubled") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Node a(io, key, 0, port, 10, fast_options());
    Node b(io, key, 1, port, 20, fast_options());
    a.channel.start();
    b.channel.start();
    REQUIRE(run_until(io, [&] { return same_connection(a.channel.stats(), b.channel.stats()); }, 5s));
    int next = 0;
    for (int cut = 0; cut < 5; ++cut) {
        for (int i = 0; i < 50; ++i) REQUIRE(!a.channel.send(msg(std::to_string(next++))));
        // Cut while frames are in flight: heartbeats would report the link silent.
        size_t link = a.channel.stats().link;
        a.channel.set_link_usable(link, false);
        for (int i = 0; i < 20; ++i) REQUIRE(!a.channel.send(msg(std::to_string(next++))));  // queued
        REQUIRE(run_until(io, [&] { return same_connection(a.channel.stats(), b.channel.stats()); }, 5s));
        CHECK(a.channel.stats().link != link);
        a.channel.set_link_usable(link, true);
    }
    REQUIRE(run_until(io, [&] { return int(b.got.size()) >= next; }, 5s));
    run_until(io, [] { return false; }, 200ms);
    CHECK(b.got == numbered(0, next));
    CHECK(a.connected >= 6);
    CHECK(a.channel.stats().lost_to_restart == 0);
}

TEST_CASE("a restarted peer gets a new session - messages for its old process are dropped") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Node a(io, key, 0, port, 10, fast_options());
    auto b = std::make_unique<Node>(io, key, 1, port, 20, fast_options());
    a.channel.start();
    b->channel.start();
    REQUIRE(run_until(io, [&] { return same_connection(a.channel.stats(), b->channel.stats()); }, 5s));
    REQUIRE(!a.channel.send(msg("one")));
    REQUIRE(run_until(io, [&] { return b->got.size() == 1 && a.channel.stats().unacked == 0; }, 2s));
    uint64_t old_inc = b->codec.identity().incarnation;
    b.reset();  // the peer process dies
    REQUIRE(run_until(io, [&] { return !a.channel.connected(); }, 3s));
    REQUIRE(!a.channel.send(msg("for-the-dead")));  // queued for the old process
    b = std::make_unique<Node>(io, key, 1, port, 30, fast_options());
    b->channel.start();
    REQUIRE(run_until(io, [&] { return same_connection(a.channel.stats(), b->channel.stats()); }, 5s));
    CHECK(a.last_peer_incarnation == b->codec.identity().incarnation);
    CHECK(a.last_peer_incarnation != old_inc);
    CHECK(a.channel.stats().lost_to_restart == 1);
    REQUIRE(!a.channel.send(msg("two")));
    REQUIRE(run_until(io, [&] { return b->got.size() == 1; }, 2s));
    CHECK(b->got[0] == "two");
}

TEST_CASE("a peer that stops reading cannot make the queues grow") {
    asio::io_context io, io_b;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto opt = fast_options();
    opt.timings.idle_timeout = 60s;  // keep the stuck connection open for this test
    opt.max_unacked_frames = 16;
    opt.max_pending_messages = 32;
    Node a(io, key, 0, port, 10, opt);
    Node b(io_b, key, 1, port, 20, opt);
    a.channel.start();
    b.channel.start();
    REQUIRE(run_until(io, [&] {
        io_b.poll();
        return same_connection(a.channel.stats(), b.channel.stats());
    }, 5s));
    // b's io thread stalls: nothing acked any more.
    int accepted = 0;
    std::error_code last;
    for (int i = 0; i < 100; ++i) {
        last = a.channel.send(msg(std::to_string(i)));
        if (!last) ++accepted;
    }
    CHECK(last == make_error_code(NetErrc::queue_full));
    CHECK(accepted == 16 + 32);
    auto s = a.channel.stats();
    CHECK(s.unacked == 16);
    CHECK(s.pending == 32);
    CHECK(s.queue_full == 100 - 48);
    // b recovers: everything accepted arrives, in order.
    REQUIRE(run_until(io, [&] {
        io_b.poll();
        return b.got.size() == 48;
    }, 5s));
    CHECK(b.got == numbered(0, 48));
}

TEST_CASE("connections from other addresses and peers of another major version are refused") {
    asio::io_context io;
    SecretKey key = random_key();
    uint16_t port = free_port();
    Node a(io, key, 0, port, 10, fast_options());
    a.channel.start();
    asio::ip::tcp::socket rogue(io);
    rogue.open(asio::ip::tcp::v4());
    rogue.bind({asio::ip::make_address(loop_addr(9)), 0});
    rogue.connect({asio::ip::make_address(loop_addr(1)), port});
    REQUIRE(run_until(io, [&] { return a.channel.stats().refused == 1; }, 2s));
    CHECK(a.codec.drops().get(DropReason::ForeignSource) == 1);

    // A "node-b" speaking protocol major+1, with the right key, from the right address.
    PeerCodec future(key, loop_topology(1, port), Identity{99, 0xF});
    asio::ip::tcp::socket s(io);
    s.open(asio::ip::tcp::v4());
    s.bind({asio::ip::make_address(loop_addr(2)), 0});
    s.connect({asio::ip::make_address(loop_addr(1)), port});
    PeerMessage hello;
    auto* h = hello.mutable_hello();
    h->set_version_major(veeamha::wire::kProtocolMajor + 1);
    h->set_cluster("vbr-repo");
    h->set_node("node-b");
    h->set_incarnation(0xF);
    std::vector<uint8_t> f;
    uint64_t seq;
    REQUIRE(!future.seal_channel(FrameKind::ChannelControl, hello, f, seq));
    asio::write(s, asio::buffer(f));
    REQUIRE(run_until(io, [&] { return a.incompatible == 1; }, 2s));
    CHECK(a.codec.drops().get(DropReason::IncompatibleVersion) == 1);
    CHECK_FALSE(a.channel.connected());
}

TEST_CASE("after a reconnect, unacknowledged frames are resent before new ones and nothing is delivered twice") {
    asio::io_context io_a, io_b;
    SecretKey key = random_key();
    uint16_t port = free_port();
    auto opt = fast_options();
    opt.ack_delay = 30s;  // no acks except in Hellos: everything stays unacknowledged at a
    opt.timings.keepalive_interval = 30s;
    opt.timings.idle_timeout = 60s;
    Node a(io_a, key, 0, port, 10, opt);
    Node b(io_b, key, 1, port, 20, opt);
    a.channel.start();
    b.channel.start();
    REQUIRE(run_until(io_a, [&] {
        io_b.poll();
        return same_connection(a.channel.stats(), b.channel.stats());
    }, 5s));
    for (int i = 0; i < 50; ++i) REQUIRE(!a.channel.send(msg(std::to_string(i))));
    io_a.poll();  // written to the socket
    // b reads 30 of them, then its side of the connection goes away with the rest unread.
    auto until = std::chrono::steady_clock::now() + 5s;
    while (b.got.size() < 30 && std::chrono::steady_clock::now() < until) io_b.run_one_for(100ms);
    REQUIRE(b.got.size() == 30);
    size_t link = b.channel.stats().link;
    b.channel.set_link_usable(link, false);
    for (int i = 50; i < 60; ++i) REQUIRE(!a.channel.send(msg(std::to_string(i))));  // queued
    REQUIRE(run_until(io_a, [&] {
        io_b.poll();
        return b.got.size() >= 60;
    }, 5s));
    run_until(io_a, [&] { io_b.poll(); return false; }, 200ms);
    CHECK(b.got == numbered(0, 60));
    CHECK(b.codec.drops().get(DropReason::OutOfOrder) == 0);
    CHECK(a.channel.stats().resent >= 20);
}

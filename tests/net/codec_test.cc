// SPDX-License-Identifier: GPL-2.0-or-later
// Sealing and opening frames: round trips and every kind of bad frame, each dropped and counted.
#include <catch2/catch.hpp>

#include "net/net_error.h"
#include "net/peer_codec.h"
#include "net_test_util.h"
#include "proto/version.h"

using namespace veeamha::net;
using namespace veeamha::net::test;
using veeamha::wire::Heartbeat;
using veeamha::wire::PeerMessage;

namespace {

struct Pair {
    SecretKey key = random_key();
    PeerCodec a{key, topology(0), Identity{100, 0xA1}};
    PeerCodec b{key, topology(1), Identity{200, 0xB1}};

    std::vector<uint8_t> hb_from(PeerCodec& c, uint8_t link, uint64_t epoch = 7) {
        Heartbeat hb;
        hb.mutable_state()->set_epoch(epoch);
        std::vector<uint8_t> out;
        REQUIRE(!c.seal_heartbeat(link, hb, out));
        return out;
    }
    // Both learn each other's incarnation, so frames from now on are bound.
    void introduce() {
        HeartbeatIn in;
        auto f = hb_from(b, 0);
        CHECK(a.open_heartbeat(f, 0, in) == DropReason::Unbound);
        f = hb_from(a, 0);
        CHECK(b.open_heartbeat(f, 0, in) == std::nullopt);  // a already knew b: bound
        f = hb_from(b, 0);
        CHECK(a.open_heartbeat(f, 0, in) == std::nullopt);
    }
};

std::optional<DropReason> open_hb(PeerCodec& c, const std::vector<uint8_t>& f, uint8_t link = 0) {
    HeartbeatIn in;
    return c.open_heartbeat(f, link, in);
}

}  // namespace

TEST_CASE("heartbeat round trip carries state and identity") {
    Pair p;
    p.introduce();
    Heartbeat hb;
    hb.mutable_state()->set_epoch(42);
    hb.mutable_state()->set_owner("node-a");
    hb.set_echo_seq(3);
    std::vector<uint8_t> f;
    REQUIRE(!p.a.seal_heartbeat(1, hb, f));
    CHECK(f.size() == kFrameOverhead + hb.ByteSizeLong());
    HeartbeatIn in;
    REQUIRE(p.b.open_heartbeat(f, 1, in) == std::nullopt);
    CHECK(in.heartbeat.state().epoch() == 42);
    CHECK(in.heartbeat.state().owner() == "node-a");
    CHECK(in.heartbeat.node() == "node-a");
    CHECK(in.heartbeat.cluster() == "vbr-repo");
    CHECK(in.heartbeat.incarnation() == 0xA1);
    CHECK(in.heartbeat.link() == 1);
    CHECK(in.heartbeat.echo_seq() == 3);
    CHECK(in.header.generation == 100);
    CHECK(in.header.receiver_incarnation == 0xB1);
    CHECK(p.b.drops().total() == 0);
}

TEST_CASE("first frames before the peer heard us are authentic but unbound, not delivered") {
    Pair p;
    auto f = p.hb_from(p.a, 0);
    CHECK(open_hb(p.b, f) == DropReason::Unbound);
    CHECK(p.b.peer_known());
    CHECK(p.b.peer_incarnation() == 0xA1);
    CHECK(p.b.drops().get(DropReason::Unbound) == 1);
}

TEST_CASE("a tampered byte anywhere in the frame is dropped, and the real frame still passes") {
    Pair p;
    p.introduce();
    auto good = p.hb_from(p.a, 0);
    uint64_t before = p.b.drops().total();
    for (size_t i = 0; i < good.size(); ++i) {
        for (uint8_t bit : {uint8_t(0x01), uint8_t(0x80)}) {
            auto bad = good;
            bad[i] ^= bit;
            auto r = open_hb(p.b, bad);
            INFO("byte " << i << " bit " << int(bit));
            REQUIRE(r.has_value());
        }
    }
    CHECK(p.b.drops().total() == before + 2 * good.size());
    // Body and tag changes can only be caught by the tag.
    CHECK(p.b.drops().get(DropReason::BadTag) >= 2 * (good.size() - kHeaderSize));
    CHECK(open_hb(p.b, good) == std::nullopt);
}

TEST_CASE("wrong key fails the tag") {
    Pair p;
    PeerCodec intruder(random_key(), topology(0), Identity{100, 0xA1});
    auto f = p.hb_from(intruder, 0);
    CHECK(open_hb(p.b, f) == DropReason::BadTag);
    CHECK(p.b.drops().get(DropReason::BadTag) == 1);
    CHECK_FALSE(p.b.peer_known());  // nothing learnt from a forged frame
}

TEST_CASE("wrong cluster is dropped by id, and a forged id still fails on the name in the AAD") {
    Pair p;
    PeerCodec other(p.key, topology(0, "other-cluster"), Identity{100, 0xA1});
    auto f = p.hb_from(other, 0);
    CHECK(open_hb(p.b, f) == DropReason::WrongCluster);
    FrameHeader h;
    h.sender = 0;
    h.cluster_id = cluster_id("vbr-repo");
    h.generation = 100;
    h.incarnation = 0xA1;
    h.receiver_incarnation = 0xB1;
    h.seq = 1;
    auto forged = craft(p.key, "vbr-repo", h, "", "other-cluster");
    CHECK(open_hb(p.b, forged) == DropReason::BadTag);
}

TEST_CASE("replayed frame is dropped - reordering within the window is accepted") {
    Pair p;
    p.introduce();
    std::vector<std::vector<uint8_t>> frames;
    for (int i = 0; i < 6; ++i) frames.push_back(p.hb_from(p.a, 0));
    for (int i : {5, 2, 4, 0, 3, 1}) CHECK(open_hb(p.b, frames[size_t(i)]) == std::nullopt);
    for (auto& f : frames) CHECK(open_hb(p.b, f) == DropReason::Replayed);
    CHECK(p.b.drops().get(DropReason::Replayed) == 6);
}

TEST_CASE("a frame older than the window is dropped as too old") {
    Pair p;
    p.introduce();
    auto old = p.hb_from(p.a, 0);
    std::vector<uint8_t> last;
    for (int i = 0; i < 200; ++i) last = p.hb_from(p.a, 0);
    CHECK(open_hb(p.b, last) == std::nullopt);
    CHECK(open_hb(p.b, old) == DropReason::TooOld);
}

TEST_CASE("each link has its own sequence and replay window - link is authenticated") {
    Pair p;
    p.introduce();
    auto l0 = p.hb_from(p.a, 0);
    auto l1 = p.hb_from(p.a, 1);
    CHECK(open_hb(p.b, l0, 1) == DropReason::WrongLink);  // replayed onto another link
    CHECK(open_hb(p.b, l1, 1) == std::nullopt);
    CHECK(open_hb(p.b, l0, 0) == std::nullopt);
}

TEST_CASE("truncated, oversized and trailing-byte frames") {
    Pair p;
    p.introduce();
    auto f = p.hb_from(p.a, 0);
    for (size_t n : {size_t(0), size_t(1), kHeaderSize - 1, kHeaderSize, kFrameOverhead - 1, f.size() - 1})
        CHECK(open_hb(p.b, std::vector<uint8_t>(f.begin(), f.begin() + long(n))) == DropReason::Truncated);
    auto longer = f;
    longer.push_back(0);
    CHECK(open_hb(p.b, longer) == DropReason::BadLength);
    CHECK(open_hb(p.b, std::vector<uint8_t>(kMaxDatagram + 1, 0)) == DropReason::Oversized);
    // A header claiming a body larger than any datagram may be.
    FrameHeader h;
    REQUIRE(decode_header(f, h) == HeaderStatus::Ok);
    h.length = 5000;
    auto big = f;
    encode_header(h, std::span<uint8_t, kHeaderSize>(big.data(), kHeaderSize));
    CHECK(open_hb(p.b, big) == DropReason::Oversized);
    CHECK(p.b.drops().get(DropReason::Truncated) == 6);
    CHECK(open_hb(p.b, f) == std::nullopt);
}

TEST_CASE("a heartbeat too large for a datagram is refused by the sender") {
    Pair p;
    Heartbeat hb;
    hb.mutable_state()->set_owner(std::string(2000, 'x'));
    std::vector<uint8_t> out;
    CHECK(p.a.seal_heartbeat(0, hb, out) == make_error_code(NetErrc::too_large));
}

TEST_CASE("garbage, wrong magic, unknown format and wrong kind") {
    Pair p;
    p.introduce();
    auto f = p.hb_from(p.a, 0);
    auto bad = f;
    bad[0] = 'X';
    CHECK(open_hb(p.b, bad) == DropReason::BadMagic);
    bad = f;
    bad[2] = 2;
    CHECK(open_hb(p.b, bad) == DropReason::BadFormat);
    bad = f;
    bad[7] = 1;  // reserved
    CHECK(open_hb(p.b, bad) == DropReason::BadFormat);
    ChannelIn cin;
    CHECK(p.b.open_channel(f, cin) == DropReason::WrongKind);
}

TEST_CASE("our own frame reflected back is dropped as wrong sender") {
    Pair p;
    p.introduce();
    auto f = p.hb_from(p.a, 0);
    CHECK(open_hb(p.a, f) == DropReason::WrongSender);
}

TEST_CASE("bad protobuf behind a valid tag is dropped as parse error") {
    Pair p;
    p.introduce();
    FrameHeader h;
    h.sender = 0;
    h.cluster_id = cluster_id("vbr-repo");
    h.generation = 100;
    h.incarnation = 0xA1;
    h.receiver_incarnation = 0xB1;
    h.seq = 1000;
    auto f = craft(p.key, "vbr-repo", h, std::string("\xff\xff\xff\xff", 4));
    CHECK(open_hb(p.b, f) == DropReason::ParseError);
    CHECK(p.b.drops().get(DropReason::ParseError) == 1);
}

TEST_CASE("authentic payload that disagrees with the header is dropped") {
    Pair p;
    p.introduce();
    auto make = [&](auto mutate, uint64_t seq) {
        Heartbeat hb;
        hb.set_version_major(veeamha::wire::kProtocolMajor);
        hb.set_cluster("vbr-repo");
        hb.set_node("node-a");
        hb.set_incarnation(0xA1);
        hb.set_link(0);
        hb.set_seq(seq);
        mutate(hb);
        FrameHeader h;
        h.sender = 0;
        h.cluster_id = cluster_id("vbr-repo");
        h.generation = 100;
        h.incarnation = 0xA1;
        h.receiver_incarnation = 0xB1;
        h.seq = seq;
        return craft(p.key, "vbr-repo", h, hb.SerializeAsString());
    };
    CHECK(open_hb(p.b, make([](Heartbeat&) {}, 500)) == std::nullopt);
    CHECK(open_hb(p.b, make([](Heartbeat& hb) { hb.set_node("node-c"); }, 501)) == DropReason::FieldMismatch);
    CHECK(open_hb(p.b, make([](Heartbeat& hb) { hb.set_seq(9); }, 502)) == DropReason::FieldMismatch);
    CHECK(open_hb(p.b, make([](Heartbeat& hb) { hb.set_incarnation(5); }, 503)) == DropReason::FieldMismatch);
    CHECK(open_hb(p.b, make([](Heartbeat& hb) { hb.set_link(1); }, 504)) == DropReason::FieldMismatch);
    CHECK(open_hb(p.b, make([](Heartbeat& hb) { hb.set_cluster("x"); }, 505)) == DropReason::FieldMismatch);
    // Another major version is refused; a newer minor and unknown fields are tolerated.
    CHECK(open_hb(p.b, make([](Heartbeat& hb) { hb.set_version_major(veeamha::wire::kProtocolMajor + 1); }, 506)) ==
          DropReason::IncompatibleVersion);
    auto newer = make([](Heartbeat& hb) {
        hb.set_version_minor(veeamha::wire::kProtocolMinor + 3);
        // field 99, varint 1: what a newer minor might add
        hb.GetReflection()->MutableUnknownFields(&hb)->AddVarint(99, 1);
    }, 507);
    CHECK(open_hb(p.b, newer) == std::nullopt);
}

TEST_CASE("a restarted peer (higher generation) is accepted - its old process is stale") {
    SecretKey key = random_key();
    PeerCodec a1(key, topology(0), Identity{100, 0xA1});
    PeerCodec b(key, topology(1), Identity{200, 0xB1});
    Heartbeat hb;
    std::vector<uint8_t> f;
    // b introduces itself to a1; a1 sends bound frames.
    REQUIRE(!b.seal_heartbeat(0, hb, f));
    open_hb(a1, f);
    std::vector<uint8_t> a1_frames[3];
    for (auto& x : a1_frames) REQUIRE(!a1.seal_heartbeat(0, hb, x));
    CHECK(open_hb(b, a1_frames[0]) == std::nullopt);

    // a restarts: new random incarnation, higher generation.
    PeerCodec a2(key, topology(0), Identity{150, 0xA2});
    REQUIRE(!b.seal_heartbeat(0, hb, f));
    open_hb(a2, f);
    std::vector<uint8_t> g;
    REQUIRE(!a2.seal_heartbeat(0, hb, g));
    CHECK(open_hb(b, g) == std::nullopt);  // seq 1 again, but a new process: fresh window
    CHECK(b.peer_incarnation() == 0xA2);
    CHECK(b.peer_restarts() == 1);
    // The old process's frames, replayed: never mistaken for the live peer.
    CHECK(open_hb(b, a1_frames[1]) == DropReason::StaleIncarnation);
    CHECK(open_hb(b, a1_frames[2]) == DropReason::StaleIncarnation);
    // Same generation, another incarnation: conflicting, stale.
    PeerCodec a_conflict(key, topology(0), Identity{150, 0xA3});
    REQUIRE(!a_conflict.seal_heartbeat(0, hb, g));
    CHECK(open_hb(b, g) == DropReason::StaleIncarnation);
    CHECK(b.drops().get(DropReason::StaleIncarnation) == 3);
    CHECK(b.peer_incarnation() == 0xA2);
}

TEST_CASE("after the receiver restarts, replays of the peer's frames are not fresh") {
    SecretKey key = random_key();
    PeerCodec a(key, topology(0), Identity{100, 0xA1});
    PeerCodec b1(key, topology(1), Identity{200, 0xB1});
    Heartbeat hb;
    std::vector<uint8_t> f;
    REQUIRE(!b1.seal_heartbeat(0, hb, f));
    open_hb(a, f);
    std::vector<uint8_t> captured;
    REQUIRE(!a.seal_heartbeat(0, hb, captured));
    CHECK(open_hb(b1, captured) == std::nullopt);
    // b restarts and knows nothing: the captured frame is authentic and even of a's current
    // process, but it was bound to b's previous incarnation.
    PeerCodec b2(key, topology(1), Identity{300, 0xB2});
    CHECK(open_hb(b2, captured) == DropReason::Unbound);
    // Once a hears b2, a's frames are bound to b2 and delivered.
    REQUIRE(!b2.seal_heartbeat(0, hb, f));
    open_hb(a, f);
    REQUIRE(!a.seal_heartbeat(0, hb, f));
    CHECK(open_hb(b2, f) == std::nullopt);
}

TEST_CASE("a flood of forged future incarnations does not disturb the current peer") {
    Pair p;
    p.introduce();
    for (uint64_t i = 0; i < 50; ++i) {
        FrameHeader h;
        h.sender = 0;
        h.cluster_id = cluster_id("vbr-repo");
        h.generation = 1000 + i;
        h.incarnation = 0x5000 + i;
        h.receiver_incarnation = 0xB1;
        h.seq = 1;
        auto forged = craft(random_key(), "vbr-repo", h, "x");
        CHECK(open_hb(p.b, forged) == DropReason::BadTag);
    }
    CHECK(p.b.peer_incarnation() == 0xA1);
    CHECK(open_hb(p.b, p.hb_from(p.a, 0)) == std::nullopt);
}

TEST_CASE("channel control: Hello may be unbound, keepalive must be bound - data in order once") {
    Pair p;
    PeerMessage hello;
    auto* h = hello.mutable_hello();
    h->set_version_major(veeamha::wire::kProtocolMajor);
    h->set_cluster("vbr-repo");
    h->set_node("node-a");
    h->set_incarnation(0xA1);
    std::vector<uint8_t> f;
    uint64_t seq = 0;
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelControl, hello, f, seq));
    ChannelIn in;
    CHECK(p.b.open_channel(f, in) == std::nullopt);
    CHECK_FALSE(in.bound);
    CHECK(in.message.has_hello());
    PeerMessage keepalive;
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelControl, keepalive, f, seq));
    CHECK(p.b.open_channel(f, in) == DropReason::Unbound);

    // a learns b; data frames are bound and numbered from a.next_data_seq().
    std::vector<uint8_t> bf;
    REQUIRE(!p.b.seal_channel(FrameKind::ChannelControl, keepalive, bf, seq));
    p.a.open_channel(bf, in);
    p.b.begin_data_session(p.a.next_data_seq());
    PeerMessage m;
    m.mutable_file_sync()->set_path("/etc/x");
    std::vector<uint8_t> d1, d2, d3;
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelData, m, d1, seq));
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelData, m, d2, seq));
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelData, m, d3, seq));
    CHECK(p.b.open_channel(d1, in) == std::nullopt);
    CHECK(in.message.file_sync().path() == "/etc/x");
    CHECK(p.b.open_channel(d1, in) == DropReason::Duplicate);  // resent: delivered once only
    CHECK(p.b.open_channel(d3, in) == DropReason::OutOfOrder); // gap: protocol error
    CHECK(p.b.open_channel(d2, in) == std::nullopt);
    CHECK(p.b.open_channel(d3, in) == std::nullopt);
    // A Hello claiming another node is refused.
    h->set_node("node-c");
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelControl, hello, f, seq));
    CHECK(p.b.open_channel(f, in) == DropReason::FieldMismatch);
    // A control frame with a body other than Hello is refused.
    REQUIRE(!p.a.seal_channel(FrameKind::ChannelControl, m, f, seq));
    CHECK(p.b.open_channel(f, in) == DropReason::FieldMismatch);
}

TEST_CASE("replay window edges") {
    ReplayWindow<128> w;
    CHECK(w.check(1) == ReplayWindow<128>::Verdict::Fresh);
    w.accept(1);
    CHECK(w.check(1) == ReplayWindow<128>::Verdict::Replayed);
    w.accept(1000);
    CHECK(w.check(1000 - 127) == ReplayWindow<128>::Verdict::Fresh);
    CHECK(w.check(1000 - 128) == ReplayWindow<128>::Verdict::TooOld);
    w.accept(1000 - 127);
    CHECK(w.check(1000 - 127) == ReplayWindow<128>::Verdict::Replayed);
    w.accept(1001);  // slides: 1000-127 falls out of the window
    CHECK(w.check(1000 - 127) == ReplayWindow<128>::Verdict::TooOld);
    CHECK(w.check(1000) == ReplayWindow<128>::Verdict::Replayed);
    CHECK(w.check(999) == ReplayWindow<128>::Verdict::Fresh);
}

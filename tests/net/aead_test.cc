// SPDX-License-Identifier: GPL-2.0-or-later
// FrameAead reuses its OpenSSL context for every frame. Whatever it keeps between frames, a
// reused context must give the very bytes a fresh one gives, follow every change of key, and
// open good frames after a failed open.
#include <catch2/catch.hpp>

#include "net/crypto.h"
#include "net_test_util.h"

using namespace veeamha::net;
using namespace veeamha::net::test;

namespace {

FrameHeader header(uint64_t seq, uint8_t link = 0) {
    FrameHeader h;
    h.kind = FrameKind::Heartbeat;
    h.sender = 1;
    h.link = link;
    h.cluster_id = 0x1234;
    h.generation = 3;
    h.incarnation = 0xC0FFEE;
    h.seq = seq;
    return h;
}

std::vector<uint8_t> seal_fresh(const SecretKey& key, const FrameHeader& h, std::span<const uint8_t> text) {
    FrameAead fresh;
    std::vector<uint8_t> out;
    fresh.seal(key, h, "lab", text, out);
    return out;
}

bool open_with(FrameAead& aead, const SecretKey& key, const std::vector<uint8_t>& frame,
               std::vector<uint8_t>& plain) {
    FrameHeader h;
    REQUIRE(decode_header(std::span<const uint8_t>(frame.data(), frame.size()), h) == HeaderStatus::Ok);
    return aead.open(key, h, "lab", frame, plain);
}

}  // namespace

TEST_CASE("a reused context seals exactly what a fresh one does, across key changes") {
    SecretKey k1 = random_key(), k2 = random_key();
    const std::vector<uint8_t> text = {'s', 't', 'a', 't', 'e', 0, 1, 2, 3};
    FrameAead reused;
    // Same key twice in a row, then a switch, then back: each frame as from a new context.
    const std::vector<std::pair<const SecretKey*, uint64_t>> plan = {
        {&k1, 1}, {&k1, 2}, {&k2, 3}, {&k2, 4}, {&k1, 5}, {&k1, 6}};
    for (const auto& [key, seq] : plan) {
        INFO("seq " << seq);
        std::vector<uint8_t> out;
        reused.seal(*key, header(seq), "lab", text, out);
        CHECK(out == seal_fresh(*key, header(seq), text));
    }
}

TEST_CASE("a reused context opens with the key it is given, also after a failed open") {
    SecretKey good = random_key(), other = random_key();
    const std::vector<uint8_t> text = {'h', 'b'};
    FrameAead opener;
    std::vector<uint8_t> plain;

    auto f1 = seal_fresh(good, header(1), text);
    REQUIRE(open_with(opener, good, f1, plain));
    CHECK(plain == text);

    // The schedule it holds is the good key's; a different key must still be applied.
    auto f2 = seal_fresh(good, header(2), text);
    CHECK_FALSE(open_with(opener, other, f2, plain));
    REQUIRE(open_with(opener, good, f2, plain));

    // A tampered tag fails; the next genuine frame, same key, opens.
    auto f3 = seal_fresh(good, header(3), text);
    auto bad = f3;
    bad.back() ^= 0x01;
    CHECK_FALSE(open_with(opener, good, bad, plain));
    REQUIRE(open_with(opener, good, f3, plain));
    CHECK(plain == text);

    // Frames sealed by the other key open once the peer's key is that one.
    auto f4 = seal_fresh(other, header(4, 1), text);
    CHECK_FALSE(open_with(opener, good, f4, plain));
    REQUIRE(open_with(opener, other, f4, plain));
    CHECK(plain == text);
}

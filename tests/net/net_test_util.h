// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the net/ unit tests: a two-node topology, keys, raw frame crafting.
#pragma once

#include <openssl/rand.h>

#include <string>
#include <vector>

#include "net/crypto.h"
#include "net/frame.h"
#include "net/identity.h"
#include "net/peer_codec.h"
#include "net/topology.h"

namespace veeamha::net::test {

inline SecretKey random_key() {
    std::array<uint8_t, kKeySize> b{};
    RAND_bytes(b.data(), static_cast<int>(b.size()));
    return SecretKey(b);
}

inline SecretKey fixed_key(uint8_t fill) {
    std::array<uint8_t, kKeySize> b{};
    b.fill(fill);
    return SecretKey(b);
}

inline Topology topology(int self, const std::string& cluster = "vbr-repo", size_t links = 2) {
    Topology t;
    t.cluster = cluster;
    t.self = static_cast<uint8_t>(self);
    t.peer = static_cast<uint8_t>(1 - self);
    std::string names[2] = {"node-a", "node-b"};
    t.self_name = names[self];
    t.peer_name = names[1 - self];
    for (size_t l = 0; l < links; ++l) {
        std::string a = "127.0." + std::to_string(l) + ".1", b = "127.0." + std::to_string(l) + ".2";
        t.self_addresses.push_back(self == 0 ? a : b);
        t.peer_addresses.push_back(self == 0 ? b : a);
    }
    return t;
}

// Seals arbitrary plaintext as `sender` with identity `id`: for frames the codec would never make.
inline std::vector<uint8_t> craft(const SecretKey& cluster_key, const std::string& cluster_name,
                                  FrameHeader h, const std::string& plaintext,
                                  const std::string& aad_cluster_name = {}) {
    SecretKey k = derive_frame_key(cluster_key, cluster_name, h.sender, h.generation, h.incarnation);
    FrameAead aead;
    std::vector<uint8_t> out;
    aead.seal(k, h, aad_cluster_name.empty() ? cluster_name : aad_cluster_name,
              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(plaintext.data()),
                                       plaintext.size()),
              out);
    return out;
}

}  // namespace veeamha::net::test

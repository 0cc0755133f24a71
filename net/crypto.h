// SPDX-License-Identifier: GPL-2.0-or-later
// AES-256-GCM sealing of frames (OpenSSL EVP).
//
// Keys: the cluster key (32 bytes, key_file.h) is never used directly. Each sender process has
// its own frame key, HKDF-SHA256(ikm = cluster key, salt = cluster name,
// info = "veeam-had frame v1" || sender index || generation || incarnation). The nonce is
// kind || link || 0x0000 || seq (12 bytes). A sender never repeats (kind, link, seq) within one
// process, and two processes never share a frame key unless they share sender index,
// generation AND a random 64-bit incarnation, so a (key, nonce) pair is never used twice
// (the one thing GCM cannot survive). Sequence numbers are 64-bit and never wrap.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "net/frame.h"

namespace veeamha::net {

inline constexpr size_t kKeySize = 32;

// 32 secret bytes, wiped on destruction; never printed.
class SecretKey {
public:
    SecretKey() = default;
    explicit SecretKey(std::span<const uint8_t, kKeySize> bytes);
    SecretKey(const SecretKey& other) = default;
    SecretKey& operator=(const SecretKey& other) = default;
    ~SecretKey();
    std::span<const uint8_t, kKeySize> bytes() const { return bytes_; }

private:
    std::array<uint8_t, kKeySize> bytes_{};
};

SecretKey derive_frame_key(const SecretKey& cluster_key, std::string_view cluster_name,
                           uint8_t sender, uint64_t generation, uint64_t incarnation);

// AES-256-GCM contexts reused for every frame (not thread-safe; one per io thread): one for
// sealing and one for opening, each keeping the key schedule of the last key it was given, so a
// frame under the same key only sets its nonce (a key's setup is most of the cost of a heartbeat
// frame's few hundred bytes).
class FrameAead {
public:
    FrameAead();
    ~FrameAead();
    FrameAead(const FrameAead&) = delete;
    FrameAead& operator=(const FrameAead&) = delete;

    // Appends header + ciphertext + tag to `out` (cleared first). header.length is set here.
    void seal(const SecretKey& key, FrameHeader header, std::string_view cluster_name,
              std::span<const uint8_t> plaintext, std::vector<uint8_t>& out);
    // `frame` is a whole frame whose header was decoded into `header` and whose size matches
    // header.frame_size(). Decrypts into `plaintext` and returns true only when the tag
    // verifies (GCM's own constant-time check); on false, `plaintext` must not be used.
    bool open(const SecretKey& key, const FrameHeader& header, std::string_view cluster_name,
              std::span<const uint8_t> frame, std::vector<uint8_t>& plaintext);

private:
    // A context and the key it holds (a copy, wiped with the context).
    struct Keyed {
        EVP_CIPHER_CTX* ctx = nullptr;
        std::array<uint8_t, kKeySize> key{};
        bool keyed = false;
        // Whether `key` is what ctx holds; if not, the caller passes the key to the init.
        bool holds(const SecretKey& k);
        void forget();
    };
    EVP_CIPHER* cipher_ = nullptr;
    Keyed seal_;
    Keyed open_;
};

}  // namespace veeamha::net

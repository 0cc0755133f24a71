// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include <stdexcept>

namespace veeamha::net {
namespace {

std::array<uint8_t, 12> make_nonce(const FrameHeader& h) {
    std::array<uint8_t, 12> n{};
    n[0] = static_cast<uint8_t>(h.kind);
    n[1] = h.link;
    for (int i = 0; i < 8; ++i) n[4 + i] = uint8_t(h.seq >> (56 - 8 * i));
    return n;
}

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

}  // namespace

SecretKey::SecretKey(std::span<const uint8_t, kKeySize> bytes) {
    std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

SecretKey derive_frame_key(const SecretKey& cluster_key, std::string_view cluster_name,
                           uint8_t sender, uint64_t generation, uint64_t incarnation) {
    static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (!kdf) fail("EVP_KDF_fetch(HKDF)");
    static constexpr char kLabel[] = "veeam-had frame v1";
    uint8_t info[sizeof kLabel - 1 + 1 + 16];
    std::copy(kLabel, kLabel + sizeof kLabel - 1, info);
    size_t o = sizeof kLabel - 1;
    info[o++] = sender;
    for (int i = 0; i < 8; ++i) info[o++] = uint8_t(generation >> (56 - 8 * i));
    for (int i = 0; i < 8; ++i) info[o++] = uint8_t(incarnation >> (56 - 8 * i));

    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
    if (!ctx) fail("EVP_KDF_CTX_new");
    char digest[] = "SHA256";
    // An empty salt is legal for HKDF but OSSL_PARAM needs a non-null pointer.
    static const char kEmpty[1] = {0};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                          const_cast<uint8_t*>(cluster_key.bytes().data()), kKeySize),
        OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_SALT,
            const_cast<char*>(cluster_name.empty() ? kEmpty : cluster_name.data()),
            cluster_name.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, o),
        OSSL_PARAM_construct_end()};
    std::array<uint8_t, kKeySize> out{};
    int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
    EVP_KDF_CTX_free(ctx);
    if (rc != 1) fail("HKDF derive");
    SecretKey key(out);
    OPENSSL_cleanse(out.data(), out.size());
    return key;
}

FrameAead::FrameAead() {
    cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    seal_.ctx = EVP_CIPHER_CTX_new();
    open_.ctx = EVP_CIPHER_CTX_new();
    if (!cipher_ || !seal_.ctx || !open_.ctx) {
        EVP_CIPHER_CTX_free(seal_.ctx);
        EVP_CIPHER_CTX_free(open_.ctx);
        EVP_CIPHER_free(cipher_);
        fail("AES-256-GCM setup");
    }
}

FrameAead::~FrameAead() {
    seal_.forget();
    open_.forget();
    EVP_CIPHER_CTX_free(seal_.ctx);
    EVP_CIPHER_CTX_free(open_.ctx);
    EVP_CIPHER_free(cipher_);
}

bool FrameAead::Keyed::holds(const SecretKey& k) {
    if (keyed && CRYPTO_memcmp(key.data(), k.bytes().data(), kKeySize) == 0) return true;
    std::copy(k.bytes().begin(), k.bytes().end(), key.begin());
    keyed = true;  // once the init that follows has succeeded; a failed init calls forget()
    return false;
}

void FrameAead::Keyed::forget() {
    OPENSSL_cleanse(key.data(), key.size());
    keyed = false;
}

void FrameAead::seal(const SecretKey& key, FrameHeader header, std::string_view cluster_name,
                     std::span<const uint8_t> plaintext, std::vector<uint8_t>& out) {
    header.length = static_cast<uint32_t>(plaintext.size());
    out.resize(header.frame_size());
    encode_header(header, std::span<uint8_t, kHeaderSize>(out.data(), kHeaderSize));
    auto nonce = make_nonce(header);
    int len = 0;
    EVP_CIPHER_CTX* ctx = seal_.ctx;
    // Same key as the last frame: only the nonce is new (OpenSSL keeps the key schedule).
    const bool same_key = seal_.holds(key);
    if (EVP_EncryptInit_ex2(ctx, same_key ? nullptr : cipher_, same_key ? nullptr : key.bytes().data(),
                            nonce.data(), nullptr) != 1) {
        seal_.forget();
        fail("EVP_EncryptInit_ex2");
    }
    if (EVP_EncryptUpdate(ctx, nullptr, &len, out.data(), kHeaderSize) != 1 ||
        EVP_EncryptUpdate(ctx, nullptr, &len,
                          reinterpret_cast<const uint8_t*>(cluster_name.data()),
                          static_cast<int>(cluster_name.size())) != 1)
        fail("GCM AAD");
    uint8_t* ct = out.data() + kHeaderSize;
    if (!plaintext.empty() &&
        EVP_EncryptUpdate(ctx, ct, &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1)
        fail("GCM encrypt");
    if (EVP_EncryptFinal_ex(ctx, ct + plaintext.size(), &len) != 1) fail("GCM final");
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize,
                            out.data() + kHeaderSize + plaintext.size()) != 1)
        fail("GCM tag");
}

bool FrameAead::open(const SecretKey& key, const FrameHeader& header,
                     std::string_view cluster_name, std::span<const uint8_t> frame,
                     std::vector<uint8_t>& plaintext) {
    if (frame.size() != header.frame_size()) return false;
    auto nonce = make_nonce(header);
    int len = 0;
    plaintext.resize(header.length);
    EVP_CIPHER_CTX* ctx = open_.ctx;
    const bool same_key = open_.holds(key);
    if (EVP_DecryptInit_ex2(ctx, same_key ? nullptr : cipher_, same_key ? nullptr : key.bytes().data(),
                            nonce.data(), nullptr) != 1) {
        open_.forget();
        return false;
    }
    if (EVP_DecryptUpdate(ctx, nullptr, &len, frame.data(), kHeaderSize) != 1 ||
        EVP_DecryptUpdate(ctx, nullptr, &len,
                          reinterpret_cast<const uint8_t*>(cluster_name.data()),
                          static_cast<int>(cluster_name.size())) != 1)
        return false;
    if (header.length > 0 &&
        EVP_DecryptUpdate(ctx, plaintext.data(), &len, frame.data() + kHeaderSize,
                          static_cast<int>(header.length)) != 1)
        return false;
    uint8_t tag[kTagSize];
    std::copy(frame.end() - kTagSize, frame.end(), tag);
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) return false;
    // DecryptFinal compares the tag with CRYPTO_memcmp (constant time).
    return EVP_DecryptFinal_ex(ctx, plaintext.data() + header.length, &len) == 1;
}

}  // namespace veeamha::net

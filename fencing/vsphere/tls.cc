// SPDX-License-Identifier: GPL-2.0-or-later
// Certificate checks for the vCenter connection: thumbprints and the verification callback that
// OpenSSL runs inside the handshake.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <strings.h>

#include "fencing/vsphere/vim_session_impl.h"

namespace veeamha::fencing::vsphere {

std::string thumbprint_of(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
    return format_thumbprint(md, len);
}

// Replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback): records what the
// server presented, then decides by the configured mode. Runs inside the handshake, so nothing
// (the password least of all) is sent to a server that fails it.
int verify_certificate(X509_STORE_CTX* store, void* arg) {
    auto* im = static_cast<VimSession::Impl*>(arg);
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    im->presented = thumbprint_of(leaf);
    switch (im->tls_mode) {
        case TlsMode::Insecure:
            return 1;
        case TlsMode::Pin: {
            unsigned char md[EVP_MAX_MD_SIZE];
            unsigned int len = 0;
            bool match = leaf && X509_digest(leaf, EVP_sha256(), md, &len) == 1 &&
                         len == im->pin.size() &&
                         CRYPTO_memcmp(md, im->pin.data(), len) == 0;
            if (!match) {
                im->pin_mismatch = true;
                X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
            }
            return match ? 1 : 0;
        }
        case TlsMode::CaFile:
        case TlsMode::SystemCa: {
            int ok = X509_verify_cert(store);
            if (ok <= 0)
                im->verify_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
            return ok > 0 ? 1 : 0;
        }
    }
    return 0;
}

std::optional<std::vector<unsigned char>> parse_thumbprint(const std::string& text,
                                                           std::string* why) {
    std::string hex;
    std::string t = text;
    if (t.size() >= 7 && strncasecmp(t.c_str(), "SHA256:", 7) == 0) t = t.substr(7);
    for (char c : t) {
        if (c == ':' || c == ' ') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            if (why) *why = "thumbprint has a character that is not hex: '" + std::string(1, c) + "'";
            return std::nullopt;
        }
        hex += c;
    }
    if (hex.size() == 40) {
        if (why) *why = "thumbprint is a SHA-1 (20 bytes); give the SHA-256 one (32 bytes)";
        return std::nullopt;
    }
    if (hex.size() != 64) {
        if (why) *why = "thumbprint must be 32 bytes of SHA-256, found " + std::to_string(hex.size() / 2);
        return std::nullopt;
    }
    std::vector<unsigned char> out;
    for (size_t i = 0; i < 64; i += 2) out.push_back(static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string format_thumbprint(const unsigned char* digest, size_t size) {
    static const char* hex = "0123456789ABCDEF";
    std::string out = "SHA256:";
    for (size_t i = 0; i < size; ++i) {
        if (i) out += ':';
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

}  // namespace veeamha::fencing::vsphere

// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/frame.h"

#include <openssl/evp.h>

namespace veeamha::net {
namespace {

void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (24 - 8 * i));
}
void put64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (56 - 8 * i));
}
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | p[i];
    return v;
}
uint64_t get64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return v;
}

}  // namespace

const char* to_string(DropReason reason) {
    switch (reason) {
        case DropReason::Truncated: return "truncated";
        case DropReason::Oversized: return "oversized";
        case DropReason::BadLength: return "bad_length";
        case DropReason::BadMagic: return "bad_magic";
        case DropReason::BadFormat: return "bad_format";
        case DropReason::WrongKind: return "wrong_kind";
        case DropReason::WrongCluster: return "wrong_cluster";
        case DropReason::WrongSender: return "wrong_sender";
        case DropReason::WrongLink: return "wrong_link";
        case DropReason::StaleIncarnation: return "stale_incarnation";
        case DropReason::Replayed: return "replayed";
        case DropReason::TooOld: return "too_old";
        case DropReason::BadTag: return "bad_tag";
        case DropReason::ParseError: return "parse_error";
        case DropReason::FieldMismatch: return "field_mismatch";
        case DropReason::Unbound: return "unbound";
        case DropReason::OutOfOrder: return "out_of_order";
        case DropReason::Duplicate: return "duplicate";
        case DropReason::IncompatibleVersion: return "incompatible_version";
        case DropReason::ForeignSource: return "foreign_source";
        case DropReason::kCount: break;
    }
    return "unknown";
}

const char* to_string(FrameKind kind) {
    switch (kind) {
        case FrameKind::Heartbeat: return "heartbeat";
        case FrameKind::ChannelControl: return "channel-control";
        case FrameKind::ChannelData: return "channel-data";
    }
    return "unknown";
}

uint64_t DropCounters::total() const {
    uint64_t sum = 0;
    for (const auto& c : counts_) sum += c.load(std::memory_order_relaxed);
    return sum;
}

std::string DropCounters::summary() const {
    std::string out;
    for (size_t i = 0; i < counts_.size(); ++i) {
        uint64_t v = counts_[i].load(std::memory_order_relaxed);
        if (v == 0) continue;
        if (!out.empty()) out += ' ';
        out += to_string(static_cast<DropReason>(i));
        out += '=';
        out += std::to_string(v);
    }
    return out.empty() ? "none" : out;
}

void encode_header(const FrameHeader& h, std::span<uint8_t, kHeaderSize> out) {
    uint8_t* p = out.data();
    p[0] = kMagic0;
    p[1] = kMagic1;
    p[2] = kFormatVersion;
    p[3] = static_cast<uint8_t>(h.kind);
    p[4] = h.sender;
    p[5] = h.link;
    put16(p + 6, 0);
    put32(p + 8, h.length);
    put32(p + 12, h.cluster_id);
    put64(p + 16, h.generation);
    put64(p + 24, h.incarnation);
    put64(p + 32, h.receiver_incarnation);
    put64(p + 40, h.seq);
}

HeaderStatus decode_header(std::span<const uint8_t> bytes, FrameHeader& out) {
    if (bytes.size() < kHeaderSize) return HeaderStatus::Truncated;
    const uint8_t* p = bytes.data();
    if (p[0] != kMagic0 || p[1] != kMagic1) return HeaderStatus::BadMagic;
    if (p[2] != kFormatVersion) return HeaderStatus::BadFormat;
    if (p[3] < 1 || p[3] > 3) return HeaderStatus::BadFormat;
    if (get16(p + 6) != 0) return HeaderStatus::BadFormat;
    out.kind = static_cast<FrameKind>(p[3]);
    out.sender = p[4];
    out.link = p[5];
    out.length = get32(p + 8);
    out.cluster_id = get32(p + 12);
    out.generation = get64(p + 16);
    out.incarnation = get64(p + 24);
    out.receiver_incarnation = get64(p + 32);
    out.seq = get64(p + 40);
    if (out.seq == 0) return HeaderStatus::BadFormat;
    return HeaderStatus::Ok;
}

uint32_t cluster_id(std::string_view cluster_name) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(cluster_name.data(), cluster_name.size(), digest, &len, EVP_sha256(), nullptr);
    return get32(digest);
}

}  // namespace veeamha::net

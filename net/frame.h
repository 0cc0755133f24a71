// SPDX-License-Identifier: GPL-2.0-or-later
// The sealed envelope every heartbeat datagram and peer-channel frame travels in (docs/design.md §4).
//
//   offset size field                      (integers big-endian)
//    0     2   magic "VH"
//    2     1   format version (1)
//    3     1   kind: 1 heartbeat, 2 channel control (Hello, keepalive/ack), 3 channel data
//    4     1   sender node index (0 or 1)
//    5     1   link index (heartbeats; 0 for channel frames)
//    6     2   reserved, must be 0
//    8     4   ciphertext length (bytes, without the tag)
//   12     4   cluster id: first 4 bytes of SHA-256(cluster name)
//   16     8   sender generation (monotonic across restarts, persisted; see identity.h)
//   24     8   sender incarnation (random per process start)
//   32     8   receiver incarnation the sender believes is current (0 = not known yet)
//   40     8   seq (per sender incarnation and stream; never 0, never repeats)
//   48     n   ciphertext (protobuf Heartbeat or PeerMessage)
//   48+n  16   AES-256-GCM tag
//
// The header is sent in clear and is the AEAD's associated data, together with the full
// cluster name; the key is derived per sender process (crypto.h), the nonce from (kind, link,
// seq). The header is only ever used to find the key and to reject frames cheaply; nothing in it
// is believed, and nothing behind it is parsed, before the tag has verified.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace veeamha::net {

enum class FrameKind : uint8_t { Heartbeat = 1, ChannelControl = 2, ChannelData = 3 };

inline constexpr uint8_t kMagic0 = 'V';
inline constexpr uint8_t kMagic1 = 'H';
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kFrameOverhead = kHeaderSize + kTagSize;
// Whole sealed heartbeat datagram: stays below a 1500-byte MTU with IPv6 and UDP headers.
inline constexpr size_t kMaxDatagram = 1400;
// Whole sealed channel frame (file sync carries small config files; 1 MiB is plenty).
inline constexpr size_t kMaxChannelFrame = 1u << 20;
// Links supported (config validation allows fewer; the header has one byte).
inline constexpr size_t kMaxLinks = 8;

struct FrameHeader {
    FrameKind kind = FrameKind::Heartbeat;
    uint8_t sender = 0;
    uint8_t link = 0;
    uint32_t length = 0;  // ciphertext bytes
    uint32_t cluster_id = 0;
    uint64_t generation = 0;
    uint64_t incarnation = 0;
    uint64_t receiver_incarnation = 0;
    uint64_t seq = 0;

    size_t frame_size() const { return kHeaderSize + length + kTagSize; }
};

// Why a frame was not delivered. Every reason has its own counter (metrics, status, tests).
enum class DropReason : uint8_t {
    Truncated,            // shorter than a header + tag, or than its length field says
    Oversized,            // longer than the limit for its kind
    BadLength,            // datagram longer than its length field says (trailing bytes)
    BadMagic,             // not a veeam-had frame at all
    BadFormat,            // unknown format version or kind, reserved bits set, seq 0
    WrongKind,            // heartbeat on the channel or channel frame on UDP
    WrongCluster,         // cluster id of another cluster
    WrongSender,          // not the peer's node index (e.g. our own frame reflected back)
    WrongLink,            // heartbeat claims another link than the one it arrived on
    StaleIncarnation,     // an older process of the peer (lower generation) or a conflicting one
    Replayed,             // seq already seen in the window (or channel data already delivered)
    TooOld,               // seq below the replay window
    BadTag,               // authentication failed: tampered, wrong key, wrong cluster name
    ParseError,           // authentic, but the protobuf does not parse
    FieldMismatch,        // authentic payload disagrees with the header or the configuration
    Unbound,              // authentic but not bound to our current incarnation (not fresh)
    OutOfOrder,           // channel data frame skipping a seq (protocol error)
    Duplicate,            // channel data frame delivered already (resent after a reconnect)
    IncompatibleVersion,  // peer speaks another protocol major version
    ForeignSource,        // from an address/port not configured for the peer on that link
    kCount
};

const char* to_string(DropReason reason);
const char* to_string(FrameKind kind);

// Per-reason drop counters. Relaxed atomics: written on the io thread, readable from anywhere
// (status, metrics).
class DropCounters {
public:
    void count(DropReason r) { counts_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed); }
    uint64_t get(DropReason r) const { return counts_[static_cast<size_t>(r)].load(std::memory_order_relaxed); }
    uint64_t total() const;
    // "bad_tag=3 replayed=10" (non-zero counters only; "none" if all are zero)
    std::string summary() const;

private:
    std::array<std::atomic<uint64_t>, static_cast<size_t>(DropReason::kCount)> counts_{};
};

void encode_header(const FrameHeader& h, std::span<uint8_t, kHeaderSize> out);

enum class HeaderStatus { Ok, Truncated, BadMagic, BadFormat };
// Structural decode of the first kHeaderSize bytes; checks magic, format version, kind and the
// reserved field only. Says nothing about authenticity.
HeaderStatus decode_header(std::span<const uint8_t> bytes, FrameHeader& out);

uint32_t cluster_id(std::string_view cluster_name);

}  // namespace veeamha::net

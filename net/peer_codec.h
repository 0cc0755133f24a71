// SPDX-License-Identifier: GPL-2.0-or-later
// Seals this node's frames to the peer and opens the peer's frames, with the replay state that
// decides whether an authentic frame is also a fresh one. Pure computation: no sockets, no
// clock; one instance per process, used on the io thread only.
//
// Order of checks when opening (cheap and stateless first; nothing trusted before the tag):
//   size/structure -> kind -> cluster id -> sender index -> link -> incarnation ordering ->
//   replay window -> AES-GCM tag -> commit replay state -> protobuf parse -> payload fields
//   -> version -> binding to our incarnation.
//
// Peer process tracking (see identity.h): a verified frame with a higher generation than any
// seen means the peer restarted: its replay windows start over. A lower generation, or the same
// generation with another incarnation, is stale and dropped before decryption. A frame is
// delivered only if it is *bound*: its receiver-incarnation field equals our own incarnation,
// which proves it was made after this process started. Authentic but unbound frames (the peer
// has not heard us since our restart yet, or a replay from before our restart) are counted as
// `unbound` and not delivered; they still teach us the peer's incarnation so that our next
// frames are bound for it. Channel Hello is the one exception (it may be unbound; the channel
// does not trust a connection until a bound Hello arrived).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "net/crypto.h"
#include "net/frame.h"
#include "net/identity.h"
#include "net/replay_window.h"
#include "net/topology.h"
#include "proto/veeamha.pb.h"

namespace veeamha::net {

struct HeartbeatIn {
    FrameHeader header;
    wire::Heartbeat heartbeat;
};

struct ChannelIn {
    FrameHeader header;
    wire::PeerMessage message;
    bool bound = false;  // only a Hello can arrive unbound
};

class PeerCodec {
public:
    PeerCodec(const SecretKey& cluster_key, Topology topology, Identity self);

    const Topology& topology() const { return topo_; }
    const Identity& identity() const { return self_; }

    // Fills version, cluster, node, incarnation, link and seq of `hb`, then seals it.
    // NetErrc::too_large if it does not fit in one datagram.
    std::error_code seal_heartbeat(uint8_t link, wire::Heartbeat& hb, std::vector<uint8_t>& out);
    // Seals a channel frame (ChannelControl or ChannelData); `seq` receives its seq.
    std::error_code seal_channel(FrameKind kind, const wire::PeerMessage& message,
                                 std::vector<uint8_t>& out, uint64_t& seq);
    // The seq the next channel data frame will get (data_base of a new channel session).
    uint64_t next_data_seq() const { return next_seq_data_; }

    // nullopt = delivered into `out`; otherwise the (already counted) reason it was dropped.
    std::optional<DropReason> open_heartbeat(std::span<const uint8_t> frame, uint8_t arrival_link,
                                             HeartbeatIn& out);
    std::optional<DropReason> open_channel(std::span<const uint8_t> frame, ChannelIn& out);

    // Inbound channel data: the peer's data frames are delivered strictly in order starting at
    // `first_seq` (learnt from the peer's bound Hello). Reset when the peer restarts.
    void begin_data_session(uint64_t first_seq) { data_next_ = first_seq; }
    uint64_t data_expected() const { return data_next_; }  // 0 = no session

    bool peer_known() const { return peer_known_; }
    uint64_t peer_generation() const { return peer_generation_; }
    uint64_t peer_incarnation() const { return peer_known_ ? peer_incarnation_ : 0; }
    uint64_t peer_restarts() const { return peer_restarts_; }  // incarnation switches seen

    DropCounters& drops() { return drops_; }
    const DropCounters& drops() const { return drops_; }

private:
    std::optional<DropReason> open_common(std::span<const uint8_t> frame, bool heartbeat,
                                          uint8_t arrival_link, FrameHeader& h);
    const SecretKey& peer_key(uint64_t generation, uint64_t incarnation);
    std::optional<DropReason> drop(DropReason r) {
        drops_.count(r);
        return r;
    }

    SecretKey cluster_key_;
    Topology topo_;
    Identity self_;
    uint32_t cluster_id_;
    SecretKey own_key_;
    FrameAead aead_;
    std::vector<uint8_t> plain_;
    std::vector<uint8_t> scratch_;

    // Sending streams.
    std::vector<uint64_t> next_seq_heartbeat_;  // per link
    uint64_t next_seq_control_ = 1;
    uint64_t next_seq_data_ = 1;

    // The peer process we currently believe in.
    bool peer_known_ = false;
    uint64_t peer_generation_ = 0;
    uint64_t peer_incarnation_ = 0;
    uint64_t peer_restarts_ = 0;
    std::vector<ReplayWindow<128>> heartbeat_windows_;  // per link
    ReplayWindow<256> control_window_;
    uint64_t data_next_ = 0;

    // Derived peer keys: the current peer process, and one candidate (a restart in progress).
    // A flood of made-up incarnations costs one HKDF each, no memory, and never evicts the
    // current peer's key.
    struct CachedKey {
        bool valid = false;
        uint64_t generation = 0, incarnation = 0;
        SecretKey key;
    };
    CachedKey current_key_;
    CachedKey candidate_key_;

    DropCounters drops_;
};

}  // namespace veeamha::net

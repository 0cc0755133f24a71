// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/peer_codec.h"

#include "net/net_error.h"
#include "proto/version.h"

namespace veeamha::net {

PeerCodec::PeerCodec(const SecretKey& cluster_key, Topology topology, Identity self)
    : cluster_key_(cluster_key),
      topo_(std::move(topology)),
      self_(self),
      cluster_id_(cluster_id(topo_.cluster)),
      own_key_(derive_frame_key(cluster_key_, topo_.cluster, topo_.self, self_.generation,
                                self_.incarnation)),
      next_seq_heartbeat_(topo_.links(), 1),
      heartbeat_windows_(topo_.links()) {}

std::error_code PeerCodec::seal_heartbeat(uint8_t link, wire::Heartbeat& hb,
                                          std::vector<uint8_t>& out) {
    if (link >= topo_.links()) return make_error_code(std::errc::invalid_argument);
    uint64_t seq = next_seq_heartbeat_[link];
    hb.set_version_major(wire::kProtocolMajor);
    hb.set_version_minor(wire::kProtocolMinor);
    hb.set_cluster(topo_.cluster);
    hb.set_node(topo_.self_name);
    hb.set_incarnation(self_.incarnation);
    hb.set_link(link);
    hb.set_seq(seq);
    size_t size = hb.ByteSizeLong();
    if (size + kFrameOverhead > kMaxDatagram) return NetErrc::too_large;
    scratch_.resize(size);
    if (size > 0 && !hb.SerializeToArray(scratch_.data(), static_cast<int>(size)))
        return make_error_code(std::errc::invalid_argument);
    FrameHeader h;
    h.kind = FrameKind::Heartbeat;
    h.sender = topo_.self;
    h.link = link;
    h.cluster_id = cluster_id_;
    h.generation = self_.generation;
    h.incarnation = self_.incarnation;
    h.receiver_incarnation = peer_incarnation();
    h.seq = seq;
    aead_.seal(own_key_, h, topo_.cluster, scratch_, out);
    next_seq_heartbeat_[link] = seq + 1;  // consumed only once sealed: never reused
    return {};
}

std::error_code PeerCodec::seal_channel(FrameKind kind, const wire::PeerMessage& message,
                                        std::vector<uint8_t>& out, uint64_t& seq) {
    if (kind == FrameKind::Heartbeat) return make_error_code(std::errc::invalid_argument);
    size_t size = message.ByteSizeLong();
    if (size + kFrameOverhead > kMaxChannelFrame) return NetErrc::too_large;
    scratch_.resize(size);
    if (size > 0 && !message.SerializeToArray(scratch_.data(), static_cast<int>(size)))
        return make_error_code(std::errc::invalid_argument);
    uint64_t& counter = kind == FrameKind::ChannelData ? next_seq_data_ : next_seq_control_;
    FrameHeader h;
    h.kind = kind;
    h.sender = topo_.self;
    h.link = 0;
    h.cluster_id = cluster_id_;
    h.generation = self_.generation;
    h.incarnation = self_.incarnation;
    h.receiver_incarnation = peer_incarnation();
    h.seq = counter;
    aead_.seal(own_key_, h, topo_.cluster, scratch_, out);
    seq = counter++;
    return {};
}

const SecretKey& PeerCodec::peer_key(uint64_t generation, uint64_t incarnation) {
    for (CachedKey* c : {&current_key_, &candidate_key_}) {
        if (c->valid && c->generation == generation && c->incarnation == incarnation) return c->key;
    }
    candidate_key_.key =
        derive_frame_key(cluster_key_, topo_.cluster, topo_.peer, generation, incarnation);
    candidate_key_.generation = generation;
    candidate_key_.incarnation = incarnation;
    candidate_key_.valid = true;
    return candidate_key_.key;
}

std::optional<DropReason> PeerCodec::open_common(std::span<const uint8_t> frame, bool heartbeat,
                                                 uint8_t arrival_link, FrameHeader& h) {
    const size_t limit = heartbeat ? kMaxDatagram : kMaxChannelFrame;
    if (frame.size() > limit) return drop(DropReason::Oversized);
    if (frame.size() < kFrameOverhead) return drop(DropReason::Truncated);
    switch (decode_header(frame, h)) {
        case HeaderStatus::Ok: break;
        case HeaderStatus::Truncated: return drop(DropReason::Truncated);
        case HeaderStatus::BadMagic: return drop(DropReason::BadMagic);
        case HeaderStatus::BadFormat: return drop(DropReason::BadFormat);
    }
    if ((h.kind == FrameKind::Heartbeat) != heartbeat) return drop(DropReason::WrongKind);
    if (h.length > limit - kFrameOverhead) return drop(DropReason::Oversized);
    if (frame.size() < h.frame_size()) return drop(DropReason::Truncated);
    if (frame.size() > h.frame_size()) return drop(DropReason::BadLength);
    if (h.cluster_id != cluster_id_) return drop(DropReason::WrongCluster);
    if (h.sender != topo_.peer) return drop(DropReason::WrongSender);
    if (heartbeat ? (h.link != arrival_link || h.link >= topo_.links()) : h.link != 0)
        return drop(DropReason::WrongLink);

    // Which peer process is this? Decided before decryption from the (unauthenticated) header,
    // but only to reject; state changes happen after the tag verified.
    bool same_process = peer_known_ && h.generation == peer_generation_ &&
                        h.incarnation == peer_incarnation_;
    bool newer_process = !peer_known_ || h.generation > peer_generation_;
    if (!same_process && !newer_process) return drop(DropReason::StaleIncarnation);
    if (same_process) {
        switch (h.kind) {
            case FrameKind::Heartbeat:
                switch (heartbeat_windows_[h.link].check(h.seq)) {
                    case ReplayWindow<128>::Verdict::Fresh: break;
                    case ReplayWindow<128>::Verdict::Replayed: return drop(DropReason::Replayed);
                    case ReplayWindow<128>::Verdict::TooOld: return drop(DropReason::TooOld);
                }
                break;
            case FrameKind::ChannelControl:
                switch (control_window_.check(h.seq)) {
                    case ReplayWindow<256>::Verdict::Fresh: break;
                    case ReplayWindow<256>::Verdict::Replayed: return drop(DropReason::Replayed);
                    case ReplayWindow<256>::Verdict::TooOld: return drop(DropReason::TooOld);
                }
                break;
            case FrameKind::ChannelData:
                // Resent after a reconnect, or replayed: either way delivered once already.
                if (data_next_ != 0 && h.seq < data_next_) return drop(DropReason::Duplicate);
                break;
        }
    }

    const SecretKey& key = peer_key(h.generation, h.incarnation);
    if (!aead_.open(key, h, topo_.cluster, frame, plain_)) return drop(DropReason::BadTag);

    // Authentic from here on.
    if (!same_process) {
        // A newer process of the peer: its streams start over. Its key becomes the current one.
        if (peer_known_) ++peer_restarts_;
        peer_known_ = true;
        peer_generation_ = h.generation;
        peer_incarnation_ = h.incarnation;
        for (auto& w : heartbeat_windows_) w.reset();
        control_window_.reset();
        data_next_ = 0;
        current_key_ = candidate_key_;
        candidate_key_.valid = false;
    }
    switch (h.kind) {
        case FrameKind::Heartbeat: heartbeat_windows_[h.link].accept(h.seq); break;
        case FrameKind::ChannelControl: control_window_.accept(h.seq); break;
        case FrameKind::ChannelData: break;  // committed by open_channel once in order
    }
    return std::nullopt;
}

std::optional<DropReason> PeerCodec::open_heartbeat(std::span<const uint8_t> frame,
                                                    uint8_t arrival_link, HeartbeatIn& out) {
    if (auto r = open_common(frame, true, arrival_link, out.header)) return r;
    const FrameHeader& h = out.header;
    if (!out.heartbeat.ParseFromArray(plain_.data(), static_cast<int>(plain_.size())))
        return drop(DropReason::ParseError);
    const wire::Heartbeat& hb = out.heartbeat;
    if (!wire::compatible(hb.version_major())) return drop(DropReason::IncompatibleVersion);
    if (hb.cluster() != topo_.cluster || hb.node() != topo_.peer_name ||
        hb.incarnation() != h.incarnation || hb.seq() != h.seq || hb.link() != h.link)
        return drop(DropReason::FieldMismatch);
    if (h.receiver_incarnation != self_.incarnation) return drop(DropReason::Unbound);
    return std::nullopt;
}

std::optional<DropReason> PeerCodec::open_channel(std::span<const uint8_t> frame, ChannelIn& out) {
    if (auto r = open_common(frame, false, 0, out.header)) return r;
    const FrameHeader& h = out.header;
    out.bound = h.receiver_incarnation == self_.incarnation;
    if (!out.message.ParseFromArray(plain_.data(), static_cast<int>(plain_.size())))
        return drop(DropReason::ParseError);
    const wire::PeerMessage& m = out.message;
    if (h.kind == FrameKind::ChannelControl) {
        if (m.has_hello()) {
            const wire::Hello& hello = m.hello();
            if (!wire::compatible(hello.version_major()))
                return drop(DropReason::IncompatibleVersion);
            if (hello.cluster() != topo_.cluster || hello.node() != topo_.peer_name ||
                hello.incarnation() != h.incarnation)
                return drop(DropReason::FieldMismatch);
            return std::nullopt;  // a Hello may be unbound
        }
        if (m.body_case() != wire::PeerMessage::BODY_NOT_SET)
            return drop(DropReason::FieldMismatch);  // control frames are Hello or keepalive
        if (!out.bound) return drop(DropReason::Unbound);
        return std::nullopt;
    }
    // Channel data: bound, in order, never a Hello or an empty body.
    if (!out.bound) return drop(DropReason::Unbound);
    if (m.body_case() == wire::PeerMessage::BODY_NOT_SET || m.has_hello())
        return drop(DropReason::FieldMismatch);
    if (data_next_ == 0 || h.seq != data_next_) return drop(DropReason::OutOfOrder);
    ++data_next_;
    return std::nullopt;
}

}  // namespace veeamha::net

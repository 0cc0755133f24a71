// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/peer_channel.h"

#include <algorithm>
#include <stdexcept>

#include "base/log.h"
#include "net/net_error.h"
#include "proto/version.h"

namespace veeamha::net {

namespace asio = boost::asio;
using asio::ip::tcp;

ChannelOptions ChannelOptions::for_topology(const Topology& t) {
    using std::chrono::milliseconds;
    ChannelOptions o;
    o.timings.keepalive_interval = std::max(milliseconds(500), t.timeout);
    o.timings.idle_timeout = std::max(milliseconds(2000), 3 * t.timeout + t.interval);
    o.timings.connect_timeout = std::max(milliseconds(1000), 2 * t.timeout);
    o.timings.handshake_timeout = std::max(milliseconds(2000), 3 * t.timeout);
    return o;
}

PeerChannel::PeerChannel(asio::io_context& io, PeerCodec& codec, ChannelOptions options,
                         Callbacks callbacks)
    : io_(io),
      codec_(codec),
      opt_(options),
      cb_(std::move(callbacks)),
      redial_(io),
      rng_(options.seed ? options.seed : codec.identity().incarnation),
      ack_timer_(io) {
    opt_.timings.max_write_queue_bytes =
        std::max(opt_.timings.max_write_queue_bytes, opt_.max_unacked_bytes + 2 * kMaxChannelFrame);
}

PeerChannel::~PeerChannel() {
    stop();
    *alive_ = false;
}

std::string PeerChannel::peer_text() const { return "peer " + codec_.topology().peer_name; }

void PeerChannel::start() {
    const Topology& t = codec_.topology();
    for (size_t i = 0; i < t.links(); ++i) {
        boost::system::error_code ec;
        self_addr_.push_back(asio::ip::make_address(t.self_addresses[i], ec));
        if (ec) throw std::runtime_error("peer channel link " + std::to_string(i) + ": '" +
                                         t.self_addresses[i] + "' is not an IP address");
        peer_addr_.push_back(asio::ip::make_address(t.peer_addresses[i], ec));
        if (ec) throw std::runtime_error("peer channel link " + std::to_string(i) + ": '" +
                                         t.peer_addresses[i] + "' is not an IP address");
        auto a = std::make_unique<tcp::acceptor>(io_);
        tcp::endpoint local(self_addr_.back(), t.port);
        auto where = "peer channel link " + std::to_string(i) + ": TCP " + t.self_addresses[i] +
                     " port " + std::to_string(t.port);
        a->open(local.protocol(), ec);
        if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) a->bind(local, ec);
        if (!ec) a->listen(8, ec);
        if (ec) throw std::runtime_error(where + ": cannot listen: " + ec.message());
        acceptors_.push_back(std::move(a));
    }
    usable_.assign(t.links(), true);
    flowing_.assign(t.links(), false);
    running_ = true;
    for (size_t i = 0; i < acceptors_.size(); ++i) accept_next(i);
    dial_enabled_ = opt_.dial_on_start;
    if (dial_enabled_) consider_dial();
}

void PeerChannel::stop() {
    if (!running_) return;
    running_ = false;
    boost::system::error_code ec;
    for (auto& a : acceptors_) a->close(ec);
    redial_.cancel();
    ack_timer_.cancel();
    auto conns = conns_;
    for (auto& c : conns) {
        c->detach();
        c->close("stopping");
    }
    conns_.clear();
    active_.reset();
    dialing_.reset();
}

void PeerChannel::accept_next(size_t link) {
    std::weak_ptr<bool> alive = alive_;
    acceptors_[link]->async_accept([this, alive, link](const boost::system::error_code& ec,
                                                       tcp::socket socket) {
        if (alive.expired() || !running_) return;
        if (ec) {
            if (ec == asio::error::operation_aborted) return;
            // EMFILE and the like: try again later rather than spin.
            auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
            t->async_wait([this, alive, link, t](const boost::system::error_code& e) {
                if (!e && !alive.expired() && running_) accept_next(link);
            });
            return;
        }
        boost::system::error_code e;
        auto remote = socket.remote_endpoint(e);
        size_t handshaking = std::count_if(conns_.begin(), conns_.end(), [](const ConnectionPtr& c) {
            return c->phase() != ChannelConnection::Phase::Established;
        });
        if (e || remote.address() != peer_addr_[link]) {
            codec_.drops().count(DropReason::ForeignSource);
            ++stats_.refused;
            socket.close(e);
        } else if (handshaking >= opt_.max_handshaking) {
            ++stats_.refused;
            socket.close(e);
        } else {
            auto c = std::make_shared<ChannelConnection>(io_, this, link, false, next_conn_id_++,
                                                         opt_.timings);
            c->adopt(std::move(socket));
            conns_.push_back(c);
            start_connection(c);
        }
        accept_next(link);
    });
}

void PeerChannel::dial_now() {
    dial_enabled_ = true;
    if (!running_ || dialing_) return;
    redial_.cancel();
    redial_armed_ = false;
    if (round_.empty()) round_ = {0};
    dial(round_.front());
    round_.erase(round_.begin());
}

void PeerChannel::consider_dial() {
    if (!running_ || !dial_enabled_ || active_ || dialing_ || redial_armed_) return;
    // An incoming connection being set up may become the session: let it finish first.
    for (auto& c : conns_)
        if (c->phase() != ChannelConnection::Phase::Established) return;
    if (round_.empty()) {
        if (failures_in_a_row_ > 0) {
            auto delay = next_backoff();
            redial_armed_ = true;
            redial_.expires_after(delay);
            std::weak_ptr<bool> alive = alive_;
            redial_.async_wait([this, alive](const boost::system::error_code& ec) {
                if (ec || alive.expired()) return;
                redial_armed_ = false;
                // New round: usable links first, lower index first.
                for (size_t l = 0; l < usable_.size(); ++l)
                    if (usable_[l]) round_.push_back(l);
                for (size_t l = 0; l < usable_.size(); ++l)
                    if (!usable_[l]) round_.push_back(l);
                consider_dial();
            });
            return;
        }
        for (size_t l = 0; l < usable_.size(); ++l)
            if (usable_[l]) round_.push_back(l);
        for (size_t l = 0; l < usable_.size(); ++l)
            if (!usable_[l]) round_.push_back(l);
    }
    size_t link = round_.front();
    round_.erase(round_.begin());
    dial(link);
}

std::chrono::milliseconds PeerChannel::next_backoff() {
    unsigned shift = std::min(failures_in_a_row_ - 1, 16u);
    auto base = std::min<int64_t>(opt_.backoff_max.count(), opt_.backoff_initial.count() << shift);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(base) * jitter(rng_)));
}

void PeerChannel::dial(size_t link) {
    const Topology& t = codec_.topology();
    auto c = std::make_shared<ChannelConnection>(io_, this, link, true, next_conn_id_++, opt_.timings);
    conns_.push_back(c);
    dialing_ = c;
    ++stats_.dials;
    c->connect(tcp::endpoint(self_addr_[link], 0), tcp::endpoint(peer_addr_[link], t.port));
}

void PeerChannel::on_tcp_connected(const ConnectionPtr& c) { start_connection(c); }

void PeerChannel::start_connection(const ConnectionPtr& c) {
    c->begin();
    if (c->open()) send_hello(c);
}

void PeerChannel::send_control(const ConnectionPtr& c, const wire::PeerMessage& m) {
    auto frame = std::make_shared<std::vector<uint8_t>>();
    uint64_t seq = 0;
    if (codec_.seal_channel(FrameKind::ChannelControl, m, *frame, seq)) return;
    c->send(std::move(frame));
}

void PeerChannel::send_hello(const ConnectionPtr& c) {
    const Topology& t = codec_.topology();
    uint64_t p = codec_.peer_incarnation();
    if (p != 0) ensure_session(p);
    wire::PeerMessage m;
    auto* h = m.mutable_hello();
    h->set_version_major(wire::kProtocolMajor);
    h->set_version_minor(wire::kProtocolMinor);
    h->set_cluster(t.cluster);
    h->set_node(t.self_name);
    h->set_incarnation(codec_.identity().incarnation);
    h->set_data_base(p != 0 ? data_base_ : 0);
    h->set_received(codec_.data_expected());
    m.set_ack(codec_.data_expected());
    send_control(c, m);
    c->hello_sent_for = p;
}

void PeerChannel::ensure_session(uint64_t peer_incarnation) {
    if (peer_incarnation == session_peer_) return;
    if (session_peer_ != 0) {
        size_t lost = pending_.size() + unacked_.size();
        stats_.lost_to_restart += lost;
        if (lost)
            base::log::warning(peer_text() + " restarted: " + std::to_string(lost) +
                         " queued channel message(s) for its previous process dropped");
    }
    pending_.clear();
    pending_bytes_ = 0;
    unacked_.clear();
    unacked_bytes_ = 0;
    session_peer_ = peer_incarnation;
    data_base_ = codec_.next_data_seq();
}

void PeerChannel::on_bad_header(const ConnectionPtr&, DropReason reason) {
    codec_.drops().count(reason);
}

void PeerChannel::on_frame(const ConnectionPtr& c, std::span<const uint8_t> frame) {
    auto r = codec_.open_channel(frame, in_);
    if (r) {
        // A data frame resent after a reconnect that had arrived after all: harmless.
        if (*r == DropReason::Duplicate) return;
        if (*r == DropReason::IncompatibleVersion && in_.message.has_hello()) {
            base::log::warning(peer_text() + " speaks protocol " +
                         std::to_string(in_.message.hello().version_major()) + "." +
                         std::to_string(in_.message.hello().version_minor()) + ", this node " +
                         std::to_string(wire::kProtocolMajor) + "." +
                         std::to_string(wire::kProtocolMinor) + ": peer channel refused");
            if (cb_.on_incompatible_peer)
                cb_.on_incompatible_peer(in_.message.hello().version_major(),
                                         in_.message.hello().version_minor());
        }
        c->close(std::string("frame dropped: ") + to_string(*r));
        return;
    }
    const wire::PeerMessage& m = in_.message;
    if (in_.bound) trim_unacked(m.ack());
    if (m.has_hello()) {
        c->peer_incarnation = in_.header.incarnation;
        // Our Hello must be bound to the peer process we now know: (re)send it if not.
        if (c->hello_sent_for != codec_.peer_incarnation()) send_hello(c);
        if (in_.bound) {
            c->peer_hello_bound = true;
            c->peer_data_base = m.hello().data_base();
            c->peer_received = m.hello().received();
        }
        maybe_establish(c);
        return;
    }
    if (in_.header.kind == FrameKind::ChannelControl) return;  // keepalive: ack handled above
    if (c->phase() != ChannelConnection::Phase::Established) {
        c->close("data before the handshake finished");
        return;
    }
    ++stats_.delivered;
    schedule_ack();
    if (cb_.on_message) cb_.on_message(c->link(), m);
}

void PeerChannel::maybe_establish(const ConnectionPtr& c) {
    if (!c->open() || c->phase() != ChannelConnection::Phase::Handshaking) return;
    uint64_t p = codec_.peer_incarnation();
    if (!c->peer_hello_bound || p == 0 || c->hello_sent_for != p || c->peer_incarnation != p) return;
    if (codec_.data_expected() == 0) codec_.begin_data_session(c->peer_data_base);
    c->established();
    if (c == dialing_) dialing_.reset();
    if (active_ && active_ != c) {
        ++stats_.tiebreaks;
        if (prefer(c, active_)) {
            auto old = active_;
            base::log::info("peer channel: both nodes dialled; keeping connection " + c->local_text() +
                      " <-> " + c->remote_text() + ", closing " + old->local_text());
            make_active(c);
            old->close("tie-break: replaced by the preferred connection");
        } else {
            c->close("tie-break: keeping the preferred connection");
        }
        return;
    }
    make_active(c);
}

bool PeerChannel::prefer(const ConnectionPtr& candidate, const ConnectionPtr& current) const {
    const Topology& t = codec_.topology();
    uint8_t lower = std::min(t.self, t.peer);
    auto by_lower = [&](const ConnectionPtr& c) { return (c->outgoing() ? t.self : t.peer) == lower; };
    if (by_lower(candidate) != by_lower(current)) return by_lower(candidate);
    return true;  // same dialler: it gave up the older one before dialling again
}

void PeerChannel::make_active(const ConnectionPtr& c) {
    bool was_connected = active_ != nullptr || disconnect_pending_;
    disconnect_pending_ = false;
    active_ = c;
    c->set_quiet(flowing_[c->link()]);
    failures_in_a_row_ = 0;
    round_.clear();
    redial_.cancel();
    redial_armed_ = false;
    ensure_session(c->peer_incarnation);
    // Resend what the peer has not got, oldest first, before anything new goes out: the peer
    // delivers data strictly in order.
    trim_unacked(c->peer_received, false);
    for (auto& u : unacked_) {
        c->send(u.frame);
        ++stats_.resent;
    }
    if (!was_connected) {
        ++stats_.connects;
        base::log::info("peer channel: connected to " + codec_.topology().peer_name + " over link " +
                  std::to_string(c->link()) + " (" + c->local_text() + " -> " + c->remote_text() +
                  (c->outgoing() ? ", dialled by us)" : ", dialled by the peer)"));
        std::weak_ptr<bool> alive = alive_;
        if (cb_.on_connected) cb_.on_connected(c->link(), session_peer_);
        if (alive.expired() || active_ != c) return;
    }
    flush_pending();
}

void PeerChannel::trim_unacked(uint64_t ack, bool flush) {
    bool freed = false;
    while (!unacked_.empty() && unacked_.front().seq < ack) {
        unacked_bytes_ -= unacked_.front().frame->size();
        unacked_.pop_front();
        freed = true;
    }
    if (freed && flush) flush_pending();
}

void PeerChannel::flush_pending() {
    if (!active_) return;
    if (active_->peer_incarnation != codec_.peer_incarnation()) {
        // Heartbeats already show a newer peer process: this connection leads to a dead one.
        active_->close("peer restarted");
        return;
    }
    while (active_ && !pending_.empty() && unacked_.size() < opt_.max_unacked_frames &&
           unacked_bytes_ < opt_.max_unacked_bytes) {
        wire::PeerMessage& m = pending_.front();
        m.set_ack(codec_.data_expected());
        auto frame = std::make_shared<std::vector<uint8_t>>();
        uint64_t seq = 0;
        size_t size = m.ByteSizeLong();
        auto ec = codec_.seal_channel(FrameKind::ChannelData, m, *frame, seq);
        pending_bytes_ -= std::min(pending_bytes_, size);
        pending_.pop_front();
        if (ec) continue;  // cannot happen: size checked in send()
        unacked_bytes_ += frame->size();
        unacked_.push_back({seq, frame});
        ++stats_.sent;
        active_->send(std::move(frame));
    }
}

std::error_code PeerChannel::send(const wire::PeerMessage& message) {
    if (!running_) return NetErrc::stopped;
    uint64_t p = codec_.peer_incarnation();
    if (session_peer_ == 0 && p == 0) return NetErrc::not_connected;
    if (message.body_case() == wire::PeerMessage::BODY_NOT_SET || message.has_hello())
        return make_error_code(std::errc::invalid_argument);
    size_t size = message.ByteSizeLong();
    if (size + 16 + kFrameOverhead > kMaxChannelFrame) return NetErrc::too_large;
    if (p != 0) ensure_session(p);  // a restarted peer gets nothing meant for its predecessor
    if (message.has_state()) {
        // Only the newest state matters: drop an older one not sent yet.
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->has_state()) {
                pending_bytes_ -= std::min(pending_bytes_, it->ByteSizeLong());
                it = pending_.erase(it);
            } else {
                ++it;
            }
        }
    }
    if (pending_.size() >= opt_.max_pending_messages || pending_bytes_ + size > opt_.max_pending_bytes) {
        ++stats_.queue_full;
        return NetErrc::queue_full;
    }
    pending_.push_back(message);
    pending_bytes_ += size;
    flush_pending();
    return {};
}

void PeerChannel::schedule_ack() {
    if (ack_armed_) return;
    ack_armed_ = true;
    ack_timer_.expires_after(opt_.ack_delay);
    std::weak_ptr<bool> alive = alive_;
    ack_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (alive.expired()) return;
        ack_armed_ = false;
        if (ec || !active_) return;
        wire::PeerMessage keepalive;
        keepalive.set_ack(codec_.data_expected());
        send_control(active_, keepalive);
    });
}

void PeerChannel::on_keepalive_due(const ConnectionPtr& c) {
    ++stats_.keepalives;
    wire::PeerMessage keepalive;
    keepalive.set_ack(codec_.data_expected());
    send_control(c, keepalive);
}

void PeerChannel::on_closed(const ConnectionPtr& c, const std::string& why) {
    conns_.erase(std::remove(conns_.begin(), conns_.end(), c), conns_.end());
    if (!running_) return;
    bool was_active = c == active_;
    if (c == dialing_) {
        dialing_.reset();
        ++stats_.dial_failures;
        if (round_.empty()) ++failures_in_a_row_;
        base::log::debug("peer channel: link " + std::to_string(c->link()) + " to " + c->remote_text() +
                   ": " + why);
    }
    if (was_active) {
        active_.reset();
        failures_in_a_row_ = 1;  // reconnect after the first backoff step if a round fails
        base::log::notice("peer channel: disconnected from " + codec_.topology().peer_name + " (link " +
                    std::to_string(c->link()) + "): " + why);
        // Another connection already set up (tie-break loser still open) takes over.
        for (auto& other : conns_) {
            if (other->phase() == ChannelConnection::Phase::Established) {
                disconnect_pending_ = true;  // seamless: not a disconnect for the user
                make_active(other);
                break;
            }
        }
        // When both dial, the peer may close the connection we use in favour of one whose
        // handshake is still running here: wait for that before reporting a disconnect.
        if (!active_) disconnect_pending_ = true;
    }
    if (disconnect_pending_ && !active_) {
        bool handshaking = std::any_of(conns_.begin(), conns_.end(), [](const ConnectionPtr& o) {
            return o->phase() == ChannelConnection::Phase::Handshaking;
        });
        if (!handshaking) {
            disconnect_pending_ = false;
            ++stats_.disconnects;
            std::weak_ptr<bool> alive = alive_;
            if (cb_.on_disconnected) cb_.on_disconnected();
            if (alive.expired() || !running_) return;
        }
    }
    consider_dial();
}

void PeerChannel::set_link_usable(size_t link, bool usable) {
    if (link >= usable_.size()) return;
    flowing_[link] = usable;
    if (running_ && usable && active_ && active_->link() == link) active_->set_quiet(true);
    if (usable_[link] == usable) return;
    usable_[link] = usable;
    if (!running_) return;
    if (!usable && active_ && active_->link() == link) {
        active_->close("heartbeats on link " + std::to_string(link) + " went silent");
        return;
    }
    if (usable && !active_ && !dialing_) {
        // A link came back: try it now rather than at the end of the backoff.
        redial_.cancel();
        redial_armed_ = false;
        round_.clear();
        failures_in_a_row_ = 0;
        consider_dial();
    }
}

ChannelStats PeerChannel::stats() const {
    ChannelStats s = stats_;
    s.connected = active_ != nullptr;
    if (active_) {
        s.link = active_->link();
        s.initiated_by_us = active_->outgoing();
        s.local = active_->local_text();
        s.remote = active_->remote_text();
    }
    s.peer_incarnation = session_peer_;
    s.pending = pending_.size();
    s.unacked = unacked_.size();
    return s;
}

}  // namespace veeamha::net

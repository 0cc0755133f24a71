// SPDX-License-Identifier: GPL-2.0-or-later
// The peer channel (docs/design.md §4): TCP on heartbeat.port, sealed length-carrying frames with
// PeerMessages, for what needs an answer (release/takeover handshake, admin forwarding, file
// sync, peer status).
//
// Connections. Each node listens on its address of every link and dials the peer's address
// of a link (links the heartbeats report up first, lower index first; one link per attempt;
// after a round of failures a capped exponential backoff with seeded jitter). Incoming
// connections are accepted only from the peer's configured address on that link. A connection
// counts once its handshake is done: both sides send a Hello; a Hello bound to our incarnation
// (see peer_codec.h) proves it is fresh. When both nodes dial at once and two connections get
// through, both sides keep the same one: the one dialled by the lower node index (between two
// dialled by the same node, the newer, since a node dials only after dropping its previous one).
//
// Delivery. Data frames to one peer process are numbered from a base given in our Hello,
// delivered in order and exactly once while both processes live: unacknowledged frames are
// kept (bounded) and resent after a reconnect, starting from what the peer's Hello says it
// has; duplicates are dropped by seq. Messages queued while disconnected are sent on reconnect
// if the peer is still the same process; if it restarted they are dropped (counted) and
// on_connected reports the new incarnation. A NodeState message replaces an older unsent one.
// The queues are bounded: send() returns NetErrc::queue_full instead of growing.
//
// Liveness. While heartbeats flow on the connection's link (set_link_usable, fed from the
// heartbeats) the peer is known alive and the connection is quiet: no keepalive frames, no idle
// timeout, so an idle cluster wakes only for its heartbeats; kernel TCP keepalive and
// TCP_USER_TIMEOUT watch the connection itself. set_link_usable(link, false) closes a connection
// on a link that went silent. Otherwise keepalive frames (a PeerMessage without body, carrying
// the ack) every keepalive_interval when idle, and a connection silent for idle_timeout is
// closed.
//
// Threading: io_context thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "net/channel_connection.h"
#include "net/peer_codec.h"

namespace veeamha::net {

struct ChannelOptions {
    ConnectionTimings timings;
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_max{5000};
    std::chrono::milliseconds ack_delay{20};
    size_t max_pending_messages = 256;
    size_t max_pending_bytes = 4u << 20;
    size_t max_unacked_frames = 256;
    size_t max_unacked_bytes = 4u << 20;
    size_t max_handshaking = 4;
    uint64_t seed = 0;      // jitter seed; 0 = from our incarnation
    bool dial_on_start = true;  // false: first dial waits for dial_now() (tests), then as usual

    // Timings that follow the heartbeat settings: keepalive ~ timeout, idle ~ 3 x timeout.
    static ChannelOptions for_topology(const Topology& t);
};

struct ChannelStats {
    bool connected = false;
    size_t link = 0;
    bool initiated_by_us = false;
    std::string local, remote;   // endpoints of the active connection
    uint64_t peer_incarnation = 0;
    uint64_t connects = 0;       // sessions established (incl. reconnects)
    uint64_t disconnects = 0;
    uint64_t dials = 0;
    uint64_t dial_failures = 0;
    uint64_t tiebreaks = 0;      // connections closed because both sides dialled
    uint64_t refused = 0;        // incoming connections refused (foreign address, too many)
    uint64_t delivered = 0;      // data messages delivered to on_message
    uint64_t sent = 0;           // data frames sent (first transmission)
    uint64_t resent = 0;         // data frames sent again after a reconnect
    uint64_t queue_full = 0;     // send() refusals
    uint64_t keepalives = 0;     // keepalive frames sent (none while heartbeats flow)
    uint64_t lost_to_restart = 0;  // queued messages dropped because the peer restarted
    size_t pending = 0;
    size_t unacked = 0;
};

class PeerChannel final : public ConnectionOwner {
public:
    struct Callbacks {
        // A data message, exactly once and in order, and the link of the connection it came on.
        std::function<void(size_t link, const wire::PeerMessage&)> on_message;
        // Session up (first connection, or again after a disconnect).
        std::function<void(size_t link, uint64_t peer_incarnation)> on_connected;
        std::function<void()> on_disconnected;
        std::function<void(uint32_t major, uint32_t minor)> on_incompatible_peer;
    };

    PeerChannel(boost::asio::io_context& io, PeerCodec& codec, ChannelOptions options,
                Callbacks callbacks);
    ~PeerChannel() override;
    PeerChannel(const PeerChannel&) = delete;
    PeerChannel& operator=(const PeerChannel&) = delete;

    // Listens on every link and starts dialling. Throws std::runtime_error naming the link
    // and address if a listener cannot be set up.
    void start();
    void stop();

    std::error_code send(const wire::PeerMessage& message);
    void set_link_usable(size_t link, bool usable);
    // Dial now, whatever the backoff, an incoming handshake or an existing connection (tests:
    // both nodes dialling at once; the tie-break decides which connection stays). Also ends
    // the wait of dial_on_start = false.
    void dial_now();

    bool connected() const { return active_ != nullptr; }
    ChannelStats stats() const;

private:
    // ConnectionOwner
    void on_tcp_connected(const ConnectionPtr& c) override;
    void on_frame(const ConnectionPtr& c, std::span<const uint8_t> frame) override;
    void on_bad_header(const ConnectionPtr& c, DropReason reason) override;
    void on_keepalive_due(const ConnectionPtr& c) override;
    void on_closed(const ConnectionPtr& c, const std::string& why) override;

    void accept_next(size_t link);
    void start_connection(const ConnectionPtr& c);
    void send_hello(const ConnectionPtr& c);
    void send_control(const ConnectionPtr& c, const wire::PeerMessage& m);
    void maybe_establish(const ConnectionPtr& c);
    bool prefer(const ConnectionPtr& candidate, const ConnectionPtr& current) const;
    void make_active(const ConnectionPtr& c);
    void ensure_session(uint64_t peer_incarnation);
    void trim_unacked(uint64_t ack, bool flush = true);
    void flush_pending();
    void schedule_ack();
    void consider_dial();
    void dial(size_t link);
    std::chrono::milliseconds next_backoff();
    std::string peer_text() const;

    boost::asio::io_context& io_;
    PeerCodec& codec_;
    ChannelOptions opt_;
    Callbacks cb_;
    bool running_ = false;
    bool dial_enabled_ = true;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
    std::vector<boost::asio::ip::address> self_addr_, peer_addr_;
    std::vector<bool> usable_;
    std::vector<bool> flowing_;  // heartbeats seen flowing on the link (not just assumed usable)
    std::vector<ConnectionPtr> conns_;
    ConnectionPtr active_;
    ConnectionPtr dialing_;
    bool disconnect_pending_ = false;  // active connection lost, a replacement is being set up
    uint64_t next_conn_id_ = 1;

    // Dialling.
    boost::asio::steady_timer redial_;
    bool redial_armed_ = false;
    std::vector<size_t> round_;  // links still to try in this round
    unsigned failures_in_a_row_ = 0;
    std::mt19937_64 rng_;

    // Outbound session with one peer process.
    uint64_t session_peer_ = 0;  // peer incarnation; 0 = none yet
    uint64_t data_base_ = 0;
    std::deque<wire::PeerMessage> pending_;
    size_t pending_bytes_ = 0;
    struct Unacked {
        uint64_t seq;
        SharedFrame frame;
    };
    std::deque<Unacked> unacked_;
    size_t unacked_bytes_ = 0;

    boost::asio::steady_timer ack_timer_;
    bool ack_armed_ = false;
    ChannelIn in_;
    ChannelStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace veeamha::net

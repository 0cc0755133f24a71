// SPDX-License-Identifier: GPL-2.0-or-later
// One TCP connection of the peer channel: connect (bound to the local link address, with a
// deadline), read whole sealed frames (header first: its length says how much follows, bounded
// by kMaxChannelFrame), a bounded write queue, and the timers of its phase (connect deadline,
// handshake deadline, then keepalive and idle timeout). It owns itself through
// shared_from_this while I/O is pending; what frames mean is the PeerChannel's business.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/frame.h"

namespace veeamha::net {

class ChannelConnection;
using ConnectionPtr = std::shared_ptr<ChannelConnection>;
using SharedFrame = std::shared_ptr<const std::vector<uint8_t>>;

class ConnectionOwner {
public:
    virtual ~ConnectionOwner() = default;
    virtual void on_tcp_connected(const ConnectionPtr& c) = 0;
    // A whole frame (header + ciphertext + tag) arrived.
    virtual void on_frame(const ConnectionPtr& c, std::span<const uint8_t> frame) = 0;
    // A frame header could not be used; the connection closes after this.
    virtual void on_bad_header(const ConnectionPtr& c, DropReason reason) = 0;
    virtual void on_keepalive_due(const ConnectionPtr& c) = 0;
    virtual void on_closed(const ConnectionPtr& c, const std::string& why) = 0;
};

struct ConnectionTimings {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds handshake_timeout{3000};
    std::chrono::milliseconds keepalive_interval{1000};
    std::chrono::milliseconds idle_timeout{4000};
    size_t max_write_queue_bytes = 8u << 20;
};

class ChannelConnection : public std::enable_shared_from_this<ChannelConnection> {
public:
    enum class Phase { Connecting, Handshaking, Established, Closed };
    using Clock = std::chrono::steady_clock;

    ChannelConnection(boost::asio::io_context& io, ConnectionOwner* owner, size_t link,
                      bool outgoing, uint64_t id, ConnectionTimings timings);

    // Outgoing: bind to `local` (port 0) and connect to `remote` within connect_timeout.
    void connect(const boost::asio::ip::tcp::endpoint& local,
                 const boost::asio::ip::tcp::endpoint& remote);
    // Incoming: take over an accepted socket.
    void adopt(boost::asio::ip::tcp::socket socket);
    // After connect/adopt: socket options, start reading, handshake deadline.
    void begin();
    void established();  // handshake done: keepalive and idle timers from now on
    // Quiet: heartbeats flow on this connection's link, so the peer is known alive: no keepalive
    // frames and no idle timeout (the kernel's TCP keepalive and TCP_USER_TIMEOUT still watch
    // the connection itself). Off again: both timers restart from now.
    void set_quiet(bool quiet);
    void send(SharedFrame frame);
    void close(const std::string& why);
    void detach() { owner_ = nullptr; }

    Phase phase() const { return phase_; }
    bool open() const { return phase_ != Phase::Closed; }
    size_t link() const { return link_; }
    bool outgoing() const { return outgoing_; }
    uint64_t id() const { return id_; }
    std::string local_text() const { return local_text_; }
    std::string remote_text() const { return remote_text_; }

    // Handshake state, kept here, decided by the PeerChannel.
    uint64_t hello_sent_for = 0;   // peer incarnation our last Hello was bound to (0 = none)
    bool peer_hello_bound = false; // the peer's bound Hello arrived
    uint64_t peer_incarnation = 0;
    uint64_t peer_data_base = 0;
    uint64_t peer_received = 0;

private:
    void read_header();
    void read_body();
    void write_next();
    void arm_timer();
    void on_timer();
    void apply_socket_options();

    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer timer_;
    ConnectionOwner* owner_;
    size_t link_;
    bool outgoing_;
    uint64_t id_;
    ConnectionTimings t_;
    Phase phase_ = Phase::Connecting;
    bool quiet_ = false;
    Clock::time_point phase_deadline_{};
    Clock::time_point last_rx_{};
    Clock::time_point last_tx_{};
    std::vector<uint8_t> rbuf_;
    std::deque<SharedFrame> wq_;
    size_t wq_bytes_ = 0;
    bool writing_ = false;
    std::string local_text_, remote_text_;
};

}  // namespace veeamha::net

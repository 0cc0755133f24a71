// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/channel_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace veeamha::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string text(const tcp::endpoint& e) {
    if (e.address().is_v6()) return "[" + e.address().to_string() + "]:" + std::to_string(e.port());
    return e.address().to_string() + ":" + std::to_string(e.port());
}

}  // namespace

ChannelConnection::ChannelConnection(asio::io_context& io, ConnectionOwner* owner, size_t link,
                                     bool outgoing, uint64_t id, ConnectionTimings timings)
    : socket_(io), timer_(io), owner_(owner), link_(link), outgoing_(outgoing), id_(id), t_(timings) {}

void ChannelConnection::connect(const tcp::endpoint& local, const tcp::endpoint& remote) {
    boost::system::error_code ec;
    socket_.open(remote.protocol(), ec);
    if (!ec) socket_.bind(local, ec);
    if (ec) {
        auto self = shared_from_this();
        asio::post(socket_.get_executor(), [self, ec] { self->close("cannot bind: " + ec.message()); });
        return;
    }
    remote_text_ = text(remote);
    phase_ = Phase::Connecting;
    phase_deadline_ = Clock::now() + t_.connect_timeout;
    arm_timer();
    socket_.async_connect(remote, [self = shared_from_this()](const boost::system::error_code& e) {
        if (self->phase_ == Phase::Closed) return;
        if (e) {
            self->close("connect failed: " + e.message());
            return;
        }
        boost::system::error_code ignored;
        self->local_text_ = text(self->socket_.local_endpoint(ignored));
        if (self->owner_) self->owner_->on_tcp_connected(self);
    });
}

void ChannelConnection::adopt(tcp::socket socket) {
    socket_ = std::move(socket);
    boost::system::error_code ec;
    local_text_ = text(socket_.local_endpoint(ec));
    remote_text_ = text(socket_.remote_endpoint(ec));
}

void ChannelConnection::apply_socket_options() {
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
    int fd = socket_.native_handle();
    // Kernel keepalive as a second line behind our own keepalive frames (the only line while the
    // connection is quiet); TCP_USER_TIMEOUT bounds how long unacknowledged data may sit before
    // the kernel gives up on the connection. Linux applies the user timeout to keepalive probes
    // too: once a probe is out and the last ACK is older than the user timeout, the connection
    // is dropped ("Connection timed out"). Below idle + cnt * intvl, a single lost probe or ACK
    // did that (a reconnect every minute or so at 5 % loss); at that sum, it takes all cnt
    // probes in a row lost.
    int idle = 5, intvl = 1, cnt = 3;
    unsigned user_timeout = static_cast<unsigned>(
        std::max<long long>(t_.idle_timeout.count(), 1000LL * (idle + intvl * cnt)));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    int tos = 0xC0;
    if (socket_.local_endpoint(ec).address().is_v4())
        ::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    else
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
}

void ChannelConnection::begin() {
    if (phase_ == Phase::Closed) return;
    apply_socket_options();
    phase_ = Phase::Handshaking;
    auto now = Clock::now();
    phase_deadline_ = now + t_.handshake_timeout;
    last_rx_ = last_tx_ = now;
    arm_timer();
    read_header();
}

void ChannelConnection::established() {
    if (phase_ != Phase::Handshaking) return;
    phase_ = Phase::Established;
    arm_timer();
}

void ChannelConnection::read_header() {
    rbuf_.resize(kHeaderSize);
    asio::async_read(socket_, asio::buffer(rbuf_.data(), kHeaderSize),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                         if (self->phase_ == Phase::Closed) return;
                         if (ec) {
                             self->close(ec == asio::error::eof ? "closed by peer"
                                                                : "read: " + ec.message());
                             return;
                         }
                         self->read_body();
                     });
}

void ChannelConnection::read_body() {
    FrameHeader h;
    DropReason bad = DropReason::kCount;
    switch (decode_header(rbuf_, h)) {
        case HeaderStatus::Ok: break;
        case HeaderStatus::Truncated: bad = DropReason::Truncated; break;
        case HeaderStatus::BadMagic: bad = DropReason::BadMagic; break;
        case HeaderStatus::BadFormat: bad = DropReason::BadFormat; break;
    }
    if (bad == DropReason::kCount && h.kind == FrameKind::Heartbeat) bad = DropReason::WrongKind;
    if (bad == DropReason::kCount && h.length > kMaxChannelFrame - kFrameOverhead)
        bad = DropReason::Oversized;
    if (bad != DropReason::kCount) {
        // A stream has no resynchronisation point: a bad header ends the connection.
        if (owner_) owner_->on_bad_header(shared_from_this(), bad);
        close(std::string("bad frame header: ") + to_string(bad));
        return;
    }
    rbuf_.resize(h.frame_size());
    asio::async_read(socket_, asio::buffer(rbuf_.data() + kHeaderSize, rbuf_.size() - kHeaderSize),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                         if (self->phase_ == Phase::Closed) return;
                         if (ec) {
                             self->close("read: " + ec.message());
                             return;
                         }
                         self->last_rx_ = Clock::now();
                         if (self->owner_) self->owner_->on_frame(self, self->rbuf_);
                         if (self->phase_ == Phase::Closed) return;
                         if (self->rbuf_.capacity() > 64 * 1024) std::vector<uint8_t>().swap(self->rbuf_);
                         self->read_header();
                     });
}

void ChannelConnection::send(SharedFrame frame) {
    if (phase_ == Phase::Closed || phase_ == Phase::Connecting) return;
    if (wq_bytes_ + frame->size() > t_.max_write_queue_bytes) {
        close("write queue full: the peer does not read");
        return;
    }
    wq_bytes_ += frame->size();
    wq_.push_back(std::move(frame));
    last_tx_ = Clock::now();
    if (!writing_) write_next();
}

void ChannelConnection::write_next() {
    if (wq_.empty() || phase_ == Phase::Closed) {
        writing_ = false;
        return;
    }
    writing_ = true;
    SharedFrame f = wq_.front();
    asio::async_write(socket_, asio::buffer(*f),
                      [self = shared_from_this(), f](const boost::system::error_code& ec, size_t) {
                          if (self->phase_ == Phase::Closed) return;
                          if (ec) {
                              self->close("write: " + ec.message());
                              return;
                          }
                          self->wq_bytes_ -= f->size();
                          self->wq_.pop_front();
                          self->write_next();
                      });
}

void ChannelConnection::set_quiet(bool quiet) {
    if (quiet_ == quiet) return;
    quiet_ = quiet;
    if (phase_ != Phase::Established) return;
    if (quiet) {
        timer_.cancel();
        return;
    }
    last_rx_ = last_tx_ = Clock::now();
    arm_timer();
}

void ChannelConnection::arm_timer() {
    if (phase_ == Phase::Established && quiet_) return;  // nothing to time: see set_quiet
    Clock::time_point at;
    if (phase_ == Phase::Established)
        at = std::min(last_rx_ + t_.idle_timeout, last_tx_ + t_.keepalive_interval);
    else
        at = phase_deadline_;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->phase_ == Phase::Closed) return;
        self->on_timer();
    });
}

void ChannelConnection::on_timer() {
    auto now = Clock::now();
    switch (phase_) {
        case Phase::Connecting:
            if (now >= phase_deadline_) return close("connect timed out");
            break;
        case Phase::Handshaking:
            if (now >= phase_deadline_) return close("handshake timed out");
            break;
        case Phase::Established:
            if (now >= last_rx_ + t_.idle_timeout) return close("idle: nothing received in time");
            if (now >= last_tx_ + t_.keepalive_interval && owner_) {
                owner_->on_keepalive_due(shared_from_this());
                if (phase_ == Phase::Closed) return;
                if (now >= last_tx_ + t_.keepalive_interval) last_tx_ = now;  // nothing sent
            }
            break;
        case Phase::Closed: return;
    }
    arm_timer();
}

void ChannelConnection::close(const std::string& why) {
    if (phase_ == Phase::Closed) return;
    phase_ = Phase::Closed;
    boost::system::error_code ec;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    wq_.clear();
    wq_bytes_ = 0;
    if (owner_) {
        auto* o = owner_;
        owner_ = nullptr;
        o->on_closed(shared_from_this(), why);
    }
}

}  // namespace veeamha::net

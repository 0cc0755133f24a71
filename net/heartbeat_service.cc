// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/heartbeat_service.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/log.h"
#include "proto/version.h"

namespace veeamha::net {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr auto kMinImmediateGap = std::chrono::milliseconds(10);
constexpr int kBatch = 32;           // datagrams per recvmmsg call
constexpr size_t kMaxPerWakeup = 1024;  // then yield to timers and other sockets
constexpr int kReceiveBuffer = 1 << 20;
// The leader reads a link that is up at each round. A round that finds more datagrams
// than this on it (a burst, a flood of forgeries) switches the link to reading at each arrival,
// so that nothing waits in the socket long enough to fill it, and so does its going down (the
// peer's return is then noticed at once); after this many quiet rounds (no more than two
// arrivals each) with the link up it goes back to reading at each round.
constexpr size_t kRoundReadLimit = 8;
constexpr size_t kQuietArrivals = 2;
constexpr int kQuietRounds = 25;

}  // namespace

struct HeartbeatService::Link {
    size_t index = 0;
    // The socket is a plain descriptor: registered with the event loop only while it is read at
    // each arrival (`watch`), because a registered socket wakes the loop for every datagram,
    // whether or not anyone waits to read it.
    int fd = -1;
    asio::posix::stream_descriptor watch;
    udp::endpoint local;
    udp::endpoint peer;
    LinkMonitor monitor;
    asio::steady_timer silence;
    bool read_on_tick = false;  // read at each round (the first node) or at each arrival
    size_t arrivals = 0;        // datagrams read since the last round
    int quiet_rounds = 0;       // rounds in a row with few arrivals, while reading at arrival
    // recvmmsg buffers
    std::vector<std::array<uint8_t, kMaxDatagram + 1>> bufs =
        std::vector<std::array<uint8_t, kMaxDatagram + 1>>(kBatch);
    std::array<mmsghdr, kBatch> msgs{};
    std::array<iovec, kBatch> iovs{};
    std::array<sockaddr_storage, kBatch> addrs{};
    std::array<std::array<char, CMSG_SPACE(sizeof(timespec))>, kBatch> controls{};

    Link(asio::io_context& io) : watch(io), silence(io) {}
    ~Link() { close(); }
    void close() {
        if (watch.is_open()) watch.release();
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    // From reading at arrival to reading at each round: the loop forgets the socket.
    void stop_watching() {
        if (watch.is_open()) watch.release();  // the pending wait ends without effect
    }
};

HeartbeatService::HeartbeatService(asio::io_context& io, PeerCodec& codec, Callbacks callbacks)
    : io_(io), codec_(codec), cb_(std::move(callbacks)), tick_(io), immediate_(io) {}

HeartbeatService::~HeartbeatService() {
    stop();
    *alive_ = false;
}

void HeartbeatService::start() {
    const Topology& t = codec_.topology();
    for (size_t i = 0; i < t.links(); ++i) {
        auto link = std::make_unique<Link>(io_);
        link->index = i;
        boost::system::error_code ec;
        auto local_addr = asio::ip::make_address(t.self_addresses[i], ec);
        if (ec) throw std::runtime_error("heartbeat link " + std::to_string(i) + ": local address '" +
                                         t.self_addresses[i] + "' is not an IP address");
        auto peer_addr = asio::ip::make_address(t.peer_addresses[i], ec);
        if (ec) throw std::runtime_error("heartbeat link " + std::to_string(i) + ": peer address '" +
                                         t.peer_addresses[i] + "' is not an IP address");
        link->local = udp::endpoint(local_addr, t.port);
        link->peer = udp::endpoint(peer_addr, t.port);
        auto where = [&] {
            return "heartbeat link " + std::to_string(i) + ": UDP " + t.self_addresses[i] + " port " +
                   std::to_string(t.port);
        };
        link->fd = ::socket(local_addr.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (link->fd < 0) throw std::runtime_error(where() + ": cannot open socket: " + std::strerror(errno));
        const int fd = link->fd;
        // Heartbeats are network control traffic (DSCP CS6): ahead of backup data in queues.
        int tos = 0xC0;
        if (local_addr.is_v4())
            ::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
        else
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
        int rcv = kReceiveBuffer;
        if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        // Kernel arrival times: a datagram that waited in the socket while this thread was
        // starved still counts from when it arrived, not from when we got to it.
        int on = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
        if (::bind(fd, link->local.data(), static_cast<socklen_t>(link->local.size())) != 0)
            throw std::runtime_error(where() + ": cannot bind: " + std::strerror(errno));
        for (int k = 0; k < kBatch; ++k) {
            link->iovs[k] = {link->bufs[k].data(), link->bufs[k].size()};
            link->msgs[k].msg_hdr.msg_iov = &link->iovs[k];
            link->msgs[k].msg_hdr.msg_iovlen = 1;
        }
        links_.push_back(std::move(link));
    }
    running_ = true;
    listed_first_ = t.self < t.peer;
    leading_ = listed_first_;
    for (auto& l : links_) arm_receive(*l);
    next_tick_ = Clock::now();
    send_all();
    schedule_tick();
}

void HeartbeatService::stop() {
    if (!running_) return;
    running_ = false;
    tick_.cancel();
    immediate_.cancel();
    for (auto& l : links_) {
        l->silence.cancel();
        l->close();
    }
}

void HeartbeatService::schedule_tick() {
    const auto interval = codec_.topology().interval;
    auto now = Clock::now();
    auto at = next_tick_ + interval;
    arm_tick(at < now ? now + interval : at);  // we were stalled: no burst to catch up
}

void HeartbeatService::answer_leader() {
    // The node that does not lead answers the leader's heartbeat at once instead of on a timer
    // of its own, so that its send shares the wake-up of its receive. Its timer is only a
    // deadline: moved to 1.1 x interval after each answer, it fires only when the leader's
    // heartbeats stop arriving (then this node leads), so it never sends less often than every
    // 1.1 x interval. Moving a timer costs a system call, not a wake-up. Both links arrive
    // together: the first one answers.
    const auto interval = codec_.topology().interval;
    auto now = Clock::now();
    if (now - last_send_ < interval / 2) return;
    send_all();
    ++rounds_answering_;
    arm_tick(last_send_ + interval + interval / 10);
}

void HeartbeatService::arm_tick(Clock::time_point at) {
    next_tick_ = at;
    tick_.expires_at(next_tick_);  // cancels the wait before, whose handler then does nothing
    std::weak_ptr<bool> alive = alive_;
    tick_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (ec || alive.expired() || !running_) return;
        const auto interval = codec_.topology().interval;
        if (!leading_ && Clock::now() - last_send_ < interval) {
            // It fired in the same turn as an answer, which could no longer cancel it.
            arm_tick(last_send_ + interval + interval / 10);
            return;
        }
        const bool was_leading = leading_;
        read_on_tick();  // may find that the peer leads too, and yield (then it has answered)
        if (alive.expired() || !running_ || (was_leading && !leading_)) return;
        if (!leading_) take_lead(false);  // no round of the peer's for 1.1 x interval
        lead_round();
    });
}

void HeartbeatService::lead_round() {
    // The last of this node's rounds as the leader says so; the peer answers it and leads from
    // its answer on. Only to a peer that takes turns, and only while it is heard: a lead handed
    // to a peer that cannot take it would only delay the rounds.
    const bool hand_over = peer_takes_turns_ && rounds_led_ + 1 >= codec_.topology().lead_rounds && any_link_up();
    send_all(hand_over ? wire::ROUND_HANDS_OVER : wire::ROUND_LEADS);
    ++rounds_on_timer_;
    if (!hand_over) {
        ++rounds_led_;
        schedule_tick();
        return;
    }
    give_up_lead();
    // If the handover is lost on every link, the peer's own deadline (1.1 x interval after its
    // last answer, a tenth of an interval from now) makes it lead anyway.
    const auto interval = codec_.topology().interval;
    arm_tick(last_send_ + interval + interval / 10);
}

void HeartbeatService::take_lead(bool handed_over) {
    leading_ = true;
    rounds_led_ = 0;
    ++lead_changes_;
    // Handed over by a peer that is heard: the links that are up are read at each round from
    // now on (a burst sends them back to reading at arrival). Taken because the peer's rounds
    // stopped (it may be restarting, and wait for an answer): read at arrival until they are
    // quiet for a while, as after a start.
    if (!handed_over) return;
    for (auto& l : links_) {
        if (l->read_on_tick || !l->monitor.stats().up) continue;
        l->read_on_tick = true;
        l->quiet_rounds = 0;
        l->arrivals = 0;
        l->stop_watching();
    }
}

void HeartbeatService::give_up_lead() {
    leading_ = false;
    rounds_led_ = 0;
    ++lead_changes_;
    for (auto& l : links_) {  // the peer's rounds must wake this node now
        if (!l->read_on_tick) continue;
        l->read_on_tick = false;
        l->quiet_rounds = 0;
        arm_receive(*l);
    }
}

void HeartbeatService::on_peer_round(wire::RoundRole role) {
    peer_takes_turns_ = role != wire::ROUND_ROLE_UNSPECIFIED;
    // A peer before 1.1 leads exactly when it is listed first.
    const bool peer_leads = role == wire::ROUND_LEADS || role == wire::ROUND_HANDS_OVER ||
                            (role == wire::ROUND_ROLE_UNSPECIFIED && !listed_first_);
    if (!peer_leads) return;
    if (leading_) {
        // The other link's copy of the handover that made this node lead, or both lead (a
        // handover lost while the peer's deadline made it lead, two starts): the node listed
        // first keeps the lead, the other answers from now on.
        if (role == wire::ROUND_HANDS_OVER || listed_first_) return;
        give_up_lead();
        const auto interval = codec_.topology().interval;
        arm_tick(last_send_ + interval + interval / 10);  // the deadline, if it does not answer now
    }
    answer_leader();
    if (role != wire::ROUND_HANDS_OVER) return;
    take_lead(true);
    arm_tick(last_send_ + codec_.topology().interval);  // its answer was this round's send
}

void HeartbeatService::read_on_tick() {
    // The answers to the last round arrived moments after it was sent; reading them now, just
    // before the next round, spares this thread a wake-up per round. Their arrival times come
    // from the kernel, and whoever decides on silence reads first (poll(), the silence timer).
    std::weak_ptr<bool> alive = alive_;
    for (auto& lp : links_) {
        Link& l = *lp;
        if (l.read_on_tick) {
            drain(l);
            if (alive.expired() || !running_) return;
            if (l.read_on_tick && l.arrivals > kRoundReadLimit) {  // (not if it has just yielded the lead)
                l.read_on_tick = false;
                l.quiet_rounds = 0;
                arm_receive(l);
            }
        } else if (leading_) {
            const bool quiet = l.arrivals <= kQuietArrivals && l.monitor.stats().up;
            l.quiet_rounds = quiet ? l.quiet_rounds + 1 : 0;
            if (l.quiet_rounds >= kQuietRounds) {
                l.read_on_tick = true;
                l.stop_watching();
            }
        }
        l.arrivals = 0;
    }
}

void HeartbeatService::poll() {
    std::weak_ptr<bool> alive = alive_;
    for (auto& l : links_) {
        if (!running_ || reading_) return;
        drain(*l);
        if (alive.expired()) return;
    }
}

void HeartbeatService::send_now() {
    if (!running_ || immediate_pending_) return;
    auto now = Clock::now();
    if (now - last_send_ >= kMinImmediateGap) {
        send_all();
        return;
    }
    immediate_pending_ = true;
    immediate_.expires_at(last_send_ + kMinImmediateGap);
    std::weak_ptr<bool> alive = alive_;
    immediate_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (ec || alive.expired() || !running_) return;
        immediate_pending_ = false;
        send_all();
    });
}

void HeartbeatService::send_all() { send_all(leading_ ? wire::ROUND_LEADS : wire::ROUND_ANSWERS); }

void HeartbeatService::send_all(wire::RoundRole role) {
    auto now = Clock::now();
    last_send_ = now;
    out_.set_round(role);
    for (auto& l : links_) send_on(*l, now);
}

void HeartbeatService::send_on(Link& link, Clock::time_point now) {
    link.monitor.fill_echo(out_, now);
    if (auto ec = codec_.seal_heartbeat(static_cast<uint8_t>(link.index), out_, frame_)) {
        link.monitor.on_send_error(ec.message());
        return;
    }
    if (::sendto(link.fd, frame_.data(), frame_.size(), MSG_NOSIGNAL, link.peer.data(),
                 static_cast<socklen_t>(link.peer.size())) < 0)
        link.monitor.on_send_error(std::strerror(errno));
    else
        link.monitor.on_sent(out_.seq(), now);
}

void HeartbeatService::arm_receive(Link& link) {
    std::weak_ptr<bool> alive = alive_;
    if (!link.watch.is_open()) {
        boost::system::error_code ec;
        link.watch.assign(link.fd, ec);
        if (ec) {  // cannot happen for an open socket; the round still reads it
            base::log::warning("heartbeat link " + std::to_string(link.index) +
                               ": cannot watch the socket, reading it at each round: " + ec.message());
            link.read_on_tick = true;
            return;
        }
    }
    link.watch.async_wait(asio::posix::stream_descriptor::wait_read,
                           [this, alive, l = &link](const boost::system::error_code& ec) {
                               if (ec || alive.expired() || !running_) return;
                               drain(*l);
                               if (alive.expired() || !running_) return;
                               if (!l->read_on_tick) arm_receive(*l);
                           });
}

size_t HeartbeatService::drain(Link& link) {
    // Not re-entered from a callback: the batch buffers are in use.
    if (reading_) return 0;
    reading_ = true;
    std::weak_ptr<bool> alive = alive_;
    size_t n = drain_batches(link);
    if (alive.expired()) return n;
    reading_ = false;
    link.arrivals += n;
    return n;
}

size_t HeartbeatService::drain_batches(Link& link) {
    std::weak_ptr<bool> alive = alive_;
    const int fd = link.fd;
    size_t total = 0;
    while (total < kMaxPerWakeup) {
        for (int k = 0; k < kBatch; ++k) {
            link.msgs[k].msg_hdr.msg_name = &link.addrs[k];
            link.msgs[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            link.msgs[k].msg_hdr.msg_control = link.controls[k].data();
            link.msgs[k].msg_hdr.msg_controllen = link.controls[k].size();
            link.msgs[k].msg_hdr.msg_flags = 0;
            link.msgs[k].msg_len = 0;
        }
        int n = ::recvmmsg(fd, link.msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return total;  // EAGAIN (drained) or an error the next read sees again
        const auto steady_now = Clock::now();
        timespec real_now{};
        ::clock_gettime(CLOCK_REALTIME, &real_now);
        for (int k = 0; k < n; ++k) {
            Clock::time_point arrived = steady_now;
            for (cmsghdr* cm = CMSG_FIRSTHDR(&link.msgs[k].msg_hdr); cm;
                 cm = CMSG_NXTHDR(&link.msgs[k].msg_hdr, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                    timespec ts;
                    std::memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                    auto age = std::chrono::seconds(real_now.tv_sec - ts.tv_sec) +
                               std::chrono::nanoseconds(real_now.tv_nsec - ts.tv_nsec);
                    // Clamp: a wall-clock step must not move arrivals into the future or far back.
                    if (age > Clock::duration::zero() && age < std::chrono::seconds(60)) arrived -= age;
                }
            }
            udp::endpoint from;
            auto len = std::min<size_t>(link.msgs[k].msg_hdr.msg_namelen, from.capacity());
            std::memcpy(from.data(), &link.addrs[k], len);
            from.resize(len);
            bool truncated = (link.msgs[k].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            handle_datagram(link, link.bufs[k].data(), link.msgs[k].msg_len, truncated, from, arrived);
            if (alive.expired() || !running_) return total + static_cast<size_t>(k) + 1;  // a callback stopped us
        }
        total += static_cast<size_t>(n);
        if (n < kBatch) return total;
    }
    return total;
}

void HeartbeatService::handle_datagram(Link& link, const uint8_t* data, size_t size,
                                       bool truncated, const udp::endpoint& from,
                                       Clock::time_point arrived) {
    if (from != link.peer) {
        codec_.drops().count(DropReason::ForeignSource);
        link.monitor.on_dropped();
        return;
    }
    if (truncated) {  // larger than any heartbeat may be (the buffer has one byte to spare)
        codec_.drops().count(DropReason::Oversized);
        link.monitor.on_dropped();
        return;
    }
    auto r = codec_.open_heartbeat(std::span<const uint8_t>(data, size),
                                   static_cast<uint8_t>(link.index), in_);
    if (r) {
        link.monitor.on_dropped();
        if (*r == DropReason::Unbound) {
            // Authentic, from a peer process that does not know this one yet (it has just
            // started): it hears nothing of ours until it gets a heartbeat carrying its new
            // incarnation, so answer now rather than at the next round. After a daemon restart
            // that round trip is part of the silence the peer's heartbeat.timeout counts.
            // At most one such answer per quarter interval: replayed frames of an old peer
            // process are authentic and Unbound too, and must not set this node's send rate.
            const auto now = Clock::now();
            if (now - last_unbound_answer_ >= codec_.topology().interval / 4) {
                last_unbound_answer_ = now;
                send_now();
            }
            return;
        }
        if (*r == DropReason::IncompatibleVersion && in_.heartbeat.version_major() != reported_major_) {
            reported_major_ = in_.heartbeat.version_major();
            base::log::warning("peer " + codec_.topology().peer_name + " speaks protocol " +
                         std::to_string(in_.heartbeat.version_major()) + "." +
                         std::to_string(in_.heartbeat.version_minor()) + ", this node " +
                         std::to_string(wire::kProtocolMajor) + "." +
                         std::to_string(wire::kProtocolMinor) +
                         ": different major versions cannot form a cluster; heartbeats refused");
            if (cb_.on_incompatible_peer)
                cb_.on_incompatible_peer(in_.heartbeat.version_major(), in_.heartbeat.version_minor());
        }
        return;
    }
    bool went_up = link.monitor.on_heartbeat(in_.heartbeat, arrived);
    arm_silence(link);
    std::weak_ptr<bool> alive = alive_;
    if (went_up && cb_.on_link_change) cb_.on_link_change(link.index, true);
    if (alive.expired() || !running_) return;
    // A link that comes up (this process has just started, or the peer is back): the peer
    // hears us at once instead of at the next round.
    if (went_up) send_now();
    const wire::RoundRole role = in_.heartbeat.round();
    if (cb_.on_heartbeat) cb_.on_heartbeat(link.index, in_.heartbeat, arrived);
    if (alive.expired() || !running_) return;
    on_peer_round(role);
}

void HeartbeatService::arm_silence(Link& link) {
    // Moved to the new deadline at every heartbeat (a system call; the wait it replaces ends
    // without effect), so that on a live link it never fires: a timer that fired once per
    // timeout only to find the link heard would cost each link a wake-up every second.
    link.silence.expires_at(link.monitor.silence_deadline(codec_.topology().timeout));
    std::weak_ptr<bool> alive = alive_;
    link.silence.async_wait([this, alive, l = &link](const boost::system::error_code& ec) {
        if (ec || alive.expired() || !running_) return;
        // Read what the kernel already has before calling the link silent: after a stall of
        // this thread, the timer can run before the socket handler.
        drain(*l);
        if (alive.expired() || !running_) return;
        if (l->monitor.check_silence(Clock::now(), codec_.topology().timeout)) {
            if (l->read_on_tick) {
                l->read_on_tick = false;
                l->quiet_rounds = 0;
                arm_receive(*l);
            }
            if (cb_.on_link_change) cb_.on_link_change(l->index, false);
        } else if (l->monitor.stats().up) {
            arm_silence(*l);  // heard since: wait until the new deadline
        }
    });
}

size_t HeartbeatService::links_read_on_tick() const {
    size_t n = 0;
    for (const auto& l : links_) n += l->read_on_tick ? 1 : 0;
    return n;
}

std::vector<LinkStats> HeartbeatService::link_stats() const {
    std::vector<LinkStats> out;
    out.reserve(links_.size());
    for (const auto& l : links_) out.push_back(l->monitor.stats());
    return out;
}

bool HeartbeatService::any_link_up() const {
    for (const auto& l : links_)
        if (l->monitor.stats().up) return true;
    return false;
}

}  // namespace veeamha::net

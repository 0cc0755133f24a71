// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>
#include <thread>

namespace veeamha::net::ip {
namespace {

// Closing a packet socket waits in the kernel for an RCU grace period (packet_release() calls
// synchronize_net()): 10-16 ms measured on a 2-vCPU VM, which an ip start or stop would wait
// for (the duplicate check's socket, the announcer's) before it could report. Nothing uses the
// descriptor once its owner is gone, so a short thread of its own closes it.
void close_in_background(int fd) {
    if (fd < 0) return;
    try {
        std::thread([fd] { ::close(fd); }).detach();
    } catch (const std::system_error&) {
        ::close(fd);  // no thread to be had: wait here
    }
}

}  // namespace

PacketSocket::~PacketSocket() { close_in_background(fd_); }

PacketSocket& PacketSocket::operator=(PacketSocket&& o) noexcept {
    if (this != &o) {
        close_in_background(fd_);
        fd_ = o.fd_;
        ifindex_ = o.ifindex_;
        o.fd_ = -1;
    }
    return *this;
}

std::string PacketSocket::open(int ifindex, uint16_t receive_ethertype) {
    int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(receive_ethertype));
    if (fd < 0) return std::string("raw packet socket: ") + std::strerror(errno) + " (needs CAP_NET_RAW)";
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(receive_ethertype);
    sll.sll_ifindex = ifindex;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
        std::string err = std::string("bind raw packet socket to interface ") + std::to_string(ifindex) +
                          ": " + std::strerror(errno);
        ::close(fd);
        return err;
    }
    close_in_background(fd_);
    fd_ = fd;
    ifindex_ = ifindex;
    return {};
}

int PacketSocket::send(const Frame& frame) {
    if (frame.size() < 14) return EINVAL;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    std::memcpy(&to.sll_protocol, frame.data() + 12, 2);  // already network order
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, frame.data(), 6);
    for (int tries = 0; tries < 3; ++tries) {
        ssize_t n = ::sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        if (n == static_cast<ssize_t>(frame.size())) return 0;
        if (n < 0 && errno != EINTR && errno != EAGAIN) return errno;
    }
    return EAGAIN;
}

PacketSocket::Received PacketSocket::receive_until(base::Deadline until,
                                                   const std::function<bool(const uint8_t*, size_t)>& on_frame,
                                                   int wake_fd) {
    uint8_t buf[2048];
    // Bounded: at most this many frames are looked at per call, whatever the traffic.
    for (int budget = 100000; budget > 0; --budget) {
        pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
        // ppoll() returns 0 only when the timeout has passed; a timeout of 0 only reads what is
        // queued. Nanoseconds: a millisecond poll() would end up to 1 ms early.
        auto left = std::max(until - base::Clock::now(), base::Clock::duration::zero());
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
        timespec ts{static_cast<time_t>(secs.count()),
                    static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs).count())};
        int pr = ::ppoll(p, wake_fd >= 0 ? 2 : 1, &ts, nullptr);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return {false, errno};
        if (pr == 0) return {};
        if (wake_fd >= 0 && (p[1].revents & POLLIN)) return {false, 0, true};
        sockaddr_ll from{};
        socklen_t fromlen = sizeof from;
        ssize_t n = ::recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromlen);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return {false, errno};
        if (n <= 0) continue;
        if (from.sll_pkttype == PACKET_OUTGOING || from.sll_ifindex != ifindex_) continue;
        if (on_frame(buf, static_cast<size_t>(n))) return {true, 0};
    }
    return {};
}

}  // namespace veeamha::net::ip

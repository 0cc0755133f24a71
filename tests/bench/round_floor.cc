// SPDX-License-Identifier: GPL-2.0-or-later
// veeamha_round_floor: what one heartbeat round costs the machine with nothing of ours in it.
// The idle bench (lab_bench.cc) runs a pair beside the two daemons, in the same hosts and at
// the same time, with the daemons' round pattern (net/heartbeat_service.h) and only the system
// calls it needs: the leader wakes on a periodic timer, reads what arrived on each link
// (recvmmsg, not waiting) and sends one datagram of a heartbeat's size on each link; the
// follower sleeps in epoll and answers on every link when the leader's round arrives, at most
// once per half interval (the two links' datagrams of one round get one answer). No crypto, no
// protobuf, no engine: the difference to a daemon's figure is the daemon's own work.
//   veeamha_round_floor lead|follow|wake INTERVAL_MS PORT LOCAL_ADDR,... PEER_ADDR,...
// wake: the leader's rounds without the sends (what the timer wake-up and the reads cost).
// One address each side: one link. Runs until killed; prints a line when ready, and failures.
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "veeamha_round_floor: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

sockaddr_in address(const std::string& text, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, text.c_str(), &a.sin_addr) != 1) {
        std::fprintf(stderr, "veeamha_round_floor: not an IPv4 address: %s\n", text.c_str());
        std::exit(2);
    }
    return a;
}

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::istringstream in(list);
    for (std::string x; std::getline(in, x, ',');) out.push_back(x);
    return out;
}

struct Link {
    int fd = -1;
    sockaddr_in peer{};
};

// Reads everything that arrived, as the daemon does: one recvmmsg, another only after a full
// batch (the leader at each round, the follower at each arrival).
void drain(const Link& l) {
    constexpr size_t kBatch = 8;
    std::array<std::array<char, 1500>, kBatch> buffers;
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (size_t i = 0; i < kBatch; ++i) {
        iov[i] = {buffers[i].data(), buffers[i].size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (::recvmmsg(l.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr) == static_cast<int>(kBatch)) {
    }
}

void send_round(const std::vector<Link>& links) {
    static const std::array<char, 140> datagram{};  // a sealed heartbeat's size
    for (const auto& l : links)
        ::sendto(l.fd, datagram.data(), datagram.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&l.peer),
                 sizeof l.peer);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc == 6 ? argv[1] : "";
    if (mode != "lead" && mode != "follow" && mode != "wake") {
        std::fprintf(stderr, "usage: %s lead|follow|wake INTERVAL_MS PORT LOCAL_ADDR,... PEER_ADDR,...\n", argv[0]);
        return 2;
    }
    const bool lead = mode != "follow";
    const bool sends = mode != "wake";
    const long interval_ms = std::atol(argv[2]);
    const long port = std::atol(argv[3]);
    auto local = split(argv[4]), peer = split(argv[5]);
    if (interval_ms <= 0 || port <= 0 || port > 65535 || local.empty() || local.size() != peer.size()) {
        std::fprintf(stderr, "veeamha_round_floor: need an interval > 0 ms, a port 1-65535 and as many peer addresses "
                             "as local ones\n");
        return 2;
    }
    std::vector<Link> links(local.size());
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1");
    for (size_t i = 0; i < links.size(); ++i) {
        links[i].fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (links[i].fd < 0) fail("socket");
        auto a = address(local[i], static_cast<uint16_t>(port));
        if (::bind(links[i].fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("bind " + local[i]);
        links[i].peer = address(peer[i], static_cast<uint16_t>(port));
        if (!lead) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<uint32_t>(i);
            if (::epoll_ctl(ep, EPOLL_CTL_ADD, links[i].fd, &ev) != 0) fail("epoll_ctl");
        }
    }
    std::printf("ready: %s every %ld ms on %zu links\n", argv[1], interval_ms, links.size());
    std::fflush(stdout);
    if (lead) {
        int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        if (timer < 0) fail("timerfd_create");
        itimerspec every{};
        every.it_interval.tv_sec = interval_ms / 1000;
        every.it_interval.tv_nsec = (interval_ms % 1000) * 1000000L;
        every.it_value = every.it_interval;
        if (::timerfd_settime(timer, 0, &every, nullptr) != 0) fail("timerfd_settime");
        epoll_event ev{};
        ev.events = EPOLLIN;
        if (::epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev) != 0) fail("epoll_ctl");
        for (;;) {
            epoll_event out[4];
            if (::epoll_wait(ep, out, 4, -1) < 0 && errno != EINTR) fail("epoll_wait");
            uint64_t expirations = 0;
            if (::read(timer, &expirations, sizeof expirations) < 0 && errno != EAGAIN) fail("read timerfd");
            for (const auto& l : links) drain(l);
            if (sends) send_round(links);
        }
    }
    auto last_answer = std::chrono::steady_clock::time_point{};
    const auto half = std::chrono::milliseconds(interval_ms / 2);
    for (;;) {
        epoll_event out[8];
        int n = ::epoll_wait(ep, out, 8, -1);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; ++i) drain(links[out[i].data.u32]);
        auto now = std::chrono::steady_clock::now();
        if (n > 0 && now - last_answer >= half) {
            send_round(links);
            last_answer = now;
        }
    }
}

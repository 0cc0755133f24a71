// SPDX-License-Identifier: GPL-2.0-or-later
// veeamha_round_floor: what one heartbeat round costs the machine with nothing of ours in it.
// The idle bench (lab_bench.cc) runs a pair beside the two daemons, in the same hosts and at
// the same time, with the daemons' round pattern (net/heartbeat_service.h) and only the system
// calls it needs: the leader wakes on a periodic timer, reads what arrived on each link
// (recvmmsg, not waiting) and sends one datagram of a heartbeat's size on each link; the
// follower sleeps in epoll and answers on every link when the leader's round arrives, at most
// once per half interval (the two links' datagrams of one round get one answer). No crypto, no
// protobuf, no engine: the difference to a daemon's figure is the daemon's own work.
//   veeamha_round_floor lead|follow|wake INTERVAL_MS PORT LOCAL_ADDR,... PEER_ADDR,... [TURNS]
// wake: the leader's rounds without the sends (what the timer wake-up and the reads cost).
// TURNS > 0: the lead changes hands as the daemons' does: the leader's TURNS-th round is marked
// (first byte 1), the follower answers it and leads from then on; a follower moves a deadline
// of 1.1 x interval at each answer and leads when it passes.
// One address each side: one link. Runs until killed; prints a line when ready, and failures.
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
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
// batch (the leader at each round, the follower at each arrival). True if a datagram handed
// the lead over.
bool drain(const Link& l) {
    constexpr size_t kBatch = 8;
    std::array<std::array<char, 1500>, kBatch> buffers;
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (size_t i = 0; i < kBatch; ++i) {
        iov[i] = {buffers[i].data(), buffers[i].size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    bool handed_over = false;
    for (;;) {
        int n = ::recvmmsg(l.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        for (int i = 0; i < n; ++i) handed_over |= msgs[i].msg_len > 0 && buffers[i][0] == 1;
        if (n != static_cast<int>(kBatch)) return handed_over;
    }
}

void send_round(const std::vector<Link>& links, bool hand_over) {
    std::array<char, 140> datagram{};  // a sealed heartbeat's size
    datagram[0] = hand_over ? 1 : 0;
    for (const auto& l : links)
        ::sendto(l.fd, datagram.data(), datagram.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&l.peer),
                 sizeof l.peer);
}

itimerspec after(long ms, bool periodic) {
    itimerspec t{};
    t.it_value.tv_sec = ms / 1000;
    t.it_value.tv_nsec = (ms % 1000) * 1000000L;
    if (periodic) t.it_interval = t.it_value;
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc == 6 || argc == 7 ? argv[1] : "";
    if (mode != "lead" && mode != "follow" && mode != "wake") {
        std::fprintf(stderr, "usage: %s lead|follow|wake INTERVAL_MS PORT LOCAL_ADDR,... PEER_ADDR,... [TURNS]\n", argv[0]);
        return 2;
    }
    bool leading = mode != "follow";
    const bool sends = mode != "wake";
    const long interval_ms = std::atol(argv[2]);
    const long port = std::atol(argv[3]);
    const long turns = argc == 7 ? std::atol(argv[6]) : 0;
    auto local = split(argv[4]), peer = split(argv[5]);
    if (interval_ms <= 0 || port <= 0 || port > 65535 || local.empty() || local.size() != peer.size() || turns < 0 ||
        (turns > 0 && !sends)) {
        std::fprintf(stderr, "veeamha_round_floor: need an interval > 0 ms, a port 1-65535, as many peer addresses "
                             "as local ones, and TURNS >= 0 (not with wake)\n");
        return 2;
    }
    std::vector<Link> links(local.size());
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1");
    int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (timer < 0) fail("timerfd_create");
    epoll_event timer_ev{};
    timer_ev.events = EPOLLIN;
    timer_ev.data.u32 = UINT32_MAX;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, timer, &timer_ev) != 0) fail("epoll_ctl");
    // The follower's sockets are in the epoll set (it wakes at arrival); the leader's are not
    // (it reads them at its rounds).
    auto watch = [&](bool on) {
        for (size_t i = 0; i < links.size(); ++i) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<uint32_t>(i);
            if (::epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, links[i].fd, &ev) != 0) fail("epoll_ctl");
        }
    };
    auto arm = [&](long ms, bool periodic) {
        itimerspec t = after(ms, periodic);
        if (::timerfd_settime(timer, 0, &t, nullptr) != 0) fail("timerfd_settime");
    };
    for (size_t i = 0; i < links.size(); ++i) {
        links[i].fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (links[i].fd < 0) fail("socket");
        auto a = address(local[i], static_cast<uint16_t>(port));
        if (::bind(links[i].fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("bind " + local[i]);
        links[i].peer = address(peer[i], static_cast<uint16_t>(port));
    }
    const long deadline_ms = interval_ms + interval_ms / 10;
    if (leading) {
        arm(interval_ms, true);
    } else {
        watch(true);
        if (turns > 0) arm(deadline_ms, false);
    }
    std::printf("ready: %s every %ld ms on %zu links%s\n", argv[1], interval_ms, links.size(),
                turns > 0 ? (", the lead changing hands every " + std::to_string(turns) + " rounds").c_str() : "");
    std::fflush(stdout);
    long rounds_led = 0;
    auto last_answer = std::chrono::steady_clock::time_point{};
    const auto half = std::chrono::milliseconds(interval_ms / 2);
    for (;;) {
        epoll_event out[8];
        int n = ::epoll_wait(ep, out, 8, -1);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        bool tick = false, handed_over = false;
        for (int i = 0; i < n; ++i) {
            if (out[i].data.u32 == UINT32_MAX) {
                uint64_t expirations = 0;
                if (::read(timer, &expirations, sizeof expirations) < 0 && errno != EAGAIN) fail("read timerfd");
                tick = true;
            } else if (!leading) {
                handed_over |= drain(links[out[i].data.u32]);
            }
        }
        if (tick) {
            if (!leading) {  // the follower's deadline passed: it leads
                leading = true;
                rounds_led = 0;
                watch(false);
                arm(interval_ms, true);
            }
            for (const auto& l : links) drain(l);
            if (!sends) continue;
            const bool hand_over = turns > 0 && ++rounds_led >= turns;
            send_round(links, hand_over);
            if (hand_over) {
                leading = false;
                watch(true);
                arm(deadline_ms, false);
            }
            continue;
        }
        if (leading || n <= 0) continue;
        auto now = std::chrono::steady_clock::now();
        if (now - last_answer >= half) {
            send_round(links, false);
            last_answer = now;
        } else if (!handed_over) {
            continue;
        }
        if (handed_over) {  // answered (or just sent): it leads from here
            leading = true;
            rounds_led = 0;
            watch(false);
            arm(interval_ms, true);
        } else if (turns > 0) {
            arm(deadline_ms, false);
        }
    }
}

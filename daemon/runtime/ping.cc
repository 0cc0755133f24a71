// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/ping.h"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace veeamha::runtime {
namespace {

struct Socket {
    int fd = -1;
    ~Socket() { if (fd >= 0) ::close(fd); }
};

uint16_t checksum(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t(p[i]) << 8) | p[i + 1];
    if (len & 1) sum += uint32_t(p[len - 1]) << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons(static_cast<uint16_t>(~sum));
}

struct Target {
    std::string text;
    int family = 0;
    sockaddr_storage addr{};
    socklen_t len = 0;
};

}  // namespace

PingResult ping_any(const std::vector<std::string>& targets, base::Deadline deadline) {
    PingResult result;
    if (targets.empty()) {
        result.reachable = true;
        result.detail = "no ping targets configured";
        return result;
    }
    std::vector<Target> parsed;
    for (const auto& t : targets) {
        Target x;
        x.text = t;
        auto* v4 = reinterpret_cast<sockaddr_in*>(&x.addr);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&x.addr);
        if (inet_pton(AF_INET, t.c_str(), &v4->sin_addr) == 1) {
            x.family = v4->sin_family = AF_INET;
            x.len = sizeof(sockaddr_in);
        } else if (inet_pton(AF_INET6, t.c_str(), &v6->sin6_addr) == 1) {
            x.family = v6->sin6_family = AF_INET6;
            x.len = sizeof(sockaddr_in6);
        } else {
            continue;  // the config loader only lets literal addresses through
        }
        char canonical[INET6_ADDRSTRLEN];
        inet_ntop(x.family, x.family == AF_INET ? static_cast<void*>(&v4->sin_addr) : &v6->sin6_addr,
                  canonical, sizeof canonical);
        x.text = canonical;  // compared with inet_ntop of the reply's source
        parsed.push_back(x);
    }
    Socket s4, s6;
    std::random_device rd;
    const uint16_t id = static_cast<uint16_t>(rd());
    auto sock = [&](int family) -> int {
        Socket& s = family == AF_INET ? s4 : s6;
        if (s.fd < 0)
            s.fd = ::socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            family == AF_INET ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6));
        return s.fd;
    };
    std::string errors;
    auto send_all = [&](uint16_t seq) {
        for (const auto& t : parsed) {
            int fd = sock(t.family);
            if (fd < 0) {
                errors = std::string("cannot open an ICMP socket: ") + std::strerror(errno);
                continue;
            }
            uint8_t pkt[16] = {};
            if (t.family == AF_INET) {
                auto* h = reinterpret_cast<icmphdr*>(pkt);
                h->type = ICMP_ECHO;
                h->un.echo.id = htons(id);
                h->un.echo.sequence = htons(seq);
                h->checksum = checksum(pkt, sizeof pkt);
            } else {
                auto* h = reinterpret_cast<icmp6_hdr*>(pkt);
                h->icmp6_type = ICMP6_ECHO_REQUEST;
                h->icmp6_id = htons(id);
                h->icmp6_seq = htons(seq);  // the kernel fills the ICMPv6 checksum
            }
            ::sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<const sockaddr*>(&t.addr), t.len);
        }
    };
    // One echo now and one every 100 ms: a single lost datagram must not make a healthy node
    // believe it is isolated.
    auto start = base::Clock::now();
    auto next_send = start;
    uint16_t seq = 0;
    while (base::Clock::now() < deadline) {
        if (base::Clock::now() >= next_send) {
            send_all(++seq);
            next_send += std::chrono::milliseconds(100);
        }
        pollfd fds[2];
        int n = 0;
        if (s4.fd >= 0) fds[n++] = {s4.fd, POLLIN, 0};
        if (s6.fd >= 0) fds[n++] = {s6.fd, POLLIN, 0};
        if (n == 0) break;
        auto wait = std::min(base::remaining(deadline),
                             std::chrono::duration_cast<std::chrono::milliseconds>(next_send - base::Clock::now()));
        ::poll(fds, n, static_cast<int>(std::max<long long>(1, wait.count())));
        for (int i = 0; i < n; ++i) {
            if (!(fds[i].revents & POLLIN)) continue;
            uint8_t buf[1500];
            sockaddr_storage from{};
            socklen_t flen = sizeof from;
            ssize_t r;
            while ((r = ::recvfrom(fds[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen)) > 0) {
                bool match = false;
                char who[INET6_ADDRSTRLEN] = "?";
                if (fds[i].fd == s4.fd) {
                    // A raw IPv4 socket receives the IP header too.
                    auto* ip = reinterpret_cast<iphdr*>(buf);
                    size_t off = size_t(ip->ihl) * 4;
                    if (size_t(r) >= off + sizeof(icmphdr)) {
                        auto* h = reinterpret_cast<icmphdr*>(buf + off);
                        match = h->type == ICMP_ECHOREPLY && ntohs(h->un.echo.id) == id;
                    }
                    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&from)->sin_addr, who, sizeof who);
                } else if (size_t(r) >= sizeof(icmp6_hdr)) {
                    auto* h = reinterpret_cast<icmp6_hdr*>(buf);
                    match = h->icmp6_type == ICMP6_ECHO_REPLY && ntohs(h->icmp6_id) == id;
                    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr, who, sizeof who);
                }
                bool ours = false;
                for (const auto& t : parsed) ours = ours || t.text == who;
                if (match && ours) {
                    auto us = std::chrono::duration_cast<std::chrono::microseconds>(base::Clock::now() - start).count();
                    result.reachable = true;
                    result.detail = std::string(who) + " answered in " + std::to_string(us / 1000) +
                                    "." + std::to_string((us % 1000) / 100) + "ms";
                    return result;
                }
                flen = sizeof from;
            }
        }
    }
    std::string list;
    for (const auto& t : targets) list += (list.empty() ? "" : ", ") + t;
    result.detail = "no answer from " + list + (errors.empty() ? "" : " (" + errors + ")");
    return result;
}

}  // namespace veeamha::runtime

// SPDX-License-Identifier: GPL-2.0-or-later
// netattack: the lab's attacker. Runs in its own network namespace, attached to both link
// bridges (which flood every frame, bridge ageing_time 0, so it sees the nodes' traffic).
//   1. capture: for --capture-ms, records the heartbeats the victim's peer sends to the victim
//      on each link (AF_PACKET).
//   2. flood: for --seconds, as fast as it can, sends to the victim's heartbeat port, spoofing
//      the peer's address and port (raw IPv4 socket) so every datagram passes the source check
//      and reaches the decoder: exact replays of captured datagrams, captured ones with a
//      flipped byte, random garbage, validly-shaped frames sealed with a wrong key (future seq,
//      current or next generation), and some datagrams from its own address (foreign source).
// Prints "event=attack ..." with counts per kind at the end.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "net/crypto.h"
#include "net/frame.h"

using namespace veeamha::net;
using Clock = std::chrono::steady_clock;

namespace {

struct LinkTarget {
    std::string iface;
    in_addr victim{}, spoof{};
    std::vector<std::vector<uint8_t>> captured;
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "netattack: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

void capture(std::vector<LinkTarget>& links, uint16_t port, int ms) {
    std::vector<int> fds;
    for (auto& l : links) {
        int fd = ::socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
        if (fd < 0) die("AF_PACKET socket");
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_protocol = htons(ETH_P_IP);
        sll.sll_ifindex = static_cast<int>(::if_nametoindex(l.iface.c_str()));
        if (sll.sll_ifindex == 0) die("no interface " + l.iface);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) die("bind AF_PACKET");
        packet_mreq mr{};
        mr.mr_ifindex = sll.sll_ifindex;
        mr.mr_type = PACKET_MR_PROMISC;
        ::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
        fds.push_back(fd);
    }
    auto end = Clock::now() + std::chrono::milliseconds(ms);
    uint8_t buf[2048];
    while (Clock::now() < end) {
        std::vector<pollfd> p;
        for (int fd : fds) p.push_back({fd, POLLIN, 0});
        if (::poll(p.data(), p.size(), 50) <= 0) continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!(p[i].revents & POLLIN)) continue;
            ssize_t n = ::recv(fds[i], buf, sizeof buf, 0);
            if (n < static_cast<ssize_t>(sizeof(iphdr) + sizeof(udphdr))) continue;
            auto* ip = reinterpret_cast<iphdr*>(buf);
            if (ip->protocol != IPPROTO_UDP || ip->saddr != links[i].spoof.s_addr ||
                ip->daddr != links[i].victim.s_addr)
                continue;
            size_t ihl = ip->ihl * 4u;
            auto* udp = reinterpret_cast<udphdr*>(buf + ihl);
            if (ntohs(udp->dest) != port) continue;
            size_t len = ntohs(udp->len) - sizeof(udphdr);
            if (ihl + sizeof(udphdr) + len > static_cast<size_t>(n)) continue;
            if (links[i].captured.size() < 500)
                links[i].captured.emplace_back(buf + ihl + sizeof(udphdr), buf + ihl + sizeof(udphdr) + len);
        }
    }
    for (int fd : fds) ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<LinkTarget> links;
    uint16_t port = 5409;
    int seconds = 10, capture_ms = 1500;
    std::vector<std::string> ifaces, victims, spoofs;
    auto split = [](const std::string& s) {
        std::vector<std::string> v;
        size_t pos = 0;
        while (pos <= s.size()) {
            size_t c = s.find(',', pos);
            if (c == std::string::npos) c = s.size();
            if (c > pos) v.push_back(s.substr(pos, c - pos));
            pos = c + 1;
        }
        return v;
    };
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--ifaces") ifaces = split(v);
        else if (a == "--victim") victims = split(v);
        else if (a == "--spoof") spoofs = split(v);
        else if (a == "--port") port = static_cast<uint16_t>(std::stoi(v));
        else if (a == "--seconds") seconds = std::stoi(v);
        else if (a == "--capture-ms") capture_ms = std::stoi(v);
        else {
            std::fprintf(stderr, "netattack: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (ifaces.empty() || ifaces.size() != victims.size() || ifaces.size() != spoofs.size()) {
        std::fprintf(stderr, "usage: netattack --ifaces I0,I1 --victim V0,V1 --spoof P0,P1 [--port N] "
                             "[--seconds S] [--capture-ms MS]\n");
        return 2;
    }
    for (size_t i = 0; i < ifaces.size(); ++i) {
        LinkTarget l;
        l.iface = ifaces[i];
        if (::inet_pton(AF_INET, victims[i].c_str(), &l.victim) != 1 ||
            ::inet_pton(AF_INET, spoofs[i].c_str(), &l.spoof) != 1) {
            std::fprintf(stderr, "netattack: IPv4 addresses expected\n");
            return 2;
        }
        links.push_back(l);
    }

    capture(links, port, capture_ms);
    size_t captured = 0;
    for (auto& l : links) captured += l.captured.size();
    std::printf("event=captured count=%zu\n", captured);
    std::fflush(stdout);

    int raw = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IP_HDRINCL implied
    if (raw < 0) die("raw socket");
    int own = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (own < 0) die("udp socket");
    int sndbuf = 4 << 20;
    ::setsockopt(raw, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

    std::mt19937_64 rng(12345);
    std::array<uint8_t, kKeySize> wrong{};
    for (auto& b : wrong) b = static_cast<uint8_t>(rng());
    SecretKey wrong_key(wrong);
    FrameAead aead;

    uint64_t replays = 0, flipped = 0, garbage = 0, forged = 0, foreign = 0, errors = 0;
    std::vector<uint8_t> pkt(sizeof(iphdr) + sizeof(udphdr) + kMaxDatagram + 64);
    std::vector<uint8_t> payload;
    auto send_spoofed = [&](LinkTarget& l, const std::vector<uint8_t>& data) {
        auto* ip = reinterpret_cast<iphdr*>(pkt.data());
        auto* udp = reinterpret_cast<udphdr*>(pkt.data() + sizeof(iphdr));
        size_t total = sizeof(iphdr) + sizeof(udphdr) + data.size();
        std::memset(ip, 0, sizeof(iphdr) + sizeof(udphdr));
        ip->version = 4;
        ip->ihl = 5;
        ip->ttl = 64;
        ip->protocol = IPPROTO_UDP;
        ip->tot_len = htons(static_cast<uint16_t>(total));  // the kernel also fills it
        ip->saddr = l.spoof.s_addr;
        ip->daddr = l.victim.s_addr;
        udp->source = htons(port);
        udp->dest = htons(port);
        udp->len = htons(static_cast<uint16_t>(sizeof(udphdr) + data.size()));
        udp->check = 0;  // no UDP checksum (legal for IPv4)
        std::memcpy(pkt.data() + sizeof(iphdr) + sizeof(udphdr), data.data(), data.size());
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr = l.victim;
        if (::sendto(raw, pkt.data(), total, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
            ++errors;
            if (errno == ENOBUFS || errno == EAGAIN) ::usleep(50);
        }
    };

    auto end = Clock::now() + std::chrono::seconds(seconds);
    uint64_t i = 0;
    while (Clock::now() < end) {
        for (int burst = 0; burst < 64; ++burst, ++i) {
            LinkTarget& l = links[i % links.size()];
            unsigned kind = static_cast<unsigned>((i / links.size()) % 8);
            if (l.captured.empty() && kind < 5) kind = 5;
            switch (kind) {
                case 0: case 1: case 2:  // exact replay of a captured heartbeat
                    send_spoofed(l, l.captured[rng() % l.captured.size()]);
                    ++replays;
                    break;
                case 3: {  // a captured one with one byte flipped
                    payload = l.captured[rng() % l.captured.size()];
                    payload[rng() % payload.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
                    send_spoofed(l, payload);
                    ++flipped;
                    break;
                }
                case 4: {  // validly-shaped, sealed with the wrong key, future seq
                    const auto& c = l.captured[rng() % l.captured.size()];
                    FrameHeader h;
                    if (decode_header(c, h) != HeaderStatus::Ok) break;
                    h.seq += 1 + rng() % 1000;
                    if (rng() % 4 == 0) h.generation += 1;  // pretend the peer restarted
                    std::vector<uint8_t> body(h.length);
                    for (auto& b : body) b = static_cast<uint8_t>(rng());
                    aead.seal(wrong_key, h, "lab", body, payload);
                    send_spoofed(l, payload);
                    ++forged;
                    break;
                }
                case 5: case 6: {  // garbage, sometimes with the right magic
                    payload.resize(1 + rng() % kMaxDatagram);
                    for (auto& b : payload) b = static_cast<uint8_t>(rng());
                    if (rng() % 2 && payload.size() >= 3) {
                        payload[0] = kMagic0;
                        payload[1] = kMagic1;
                        payload[2] = kFormatVersion;
                    }
                    send_spoofed(l, payload);
                    ++garbage;
                    break;
                }
                case 7: {  // from our own address: the source check
                    payload.assign(100, 0x55);
                    sockaddr_in to{};
                    to.sin_family = AF_INET;
                    to.sin_addr = l.victim;
                    to.sin_port = htons(port);
                    if (::sendto(own, payload.data(), payload.size(), 0,
                                 reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
                        ++errors;
                    ++foreign;
                    break;
                }
            }
        }
    }
    std::printf("event=attack replays=%llu flipped=%llu garbage=%llu forged=%llu foreign=%llu "
                "send_errors=%llu total=%llu\n",
                (unsigned long long)replays, (unsigned long long)flipped,
                (unsigned long long)garbage, (unsigned long long)forged,
                (unsigned long long)foreign, (unsigned long long)errors,
                (unsigned long long)(replays + flipped + garbage + forged + foreign));
    return 0;
}

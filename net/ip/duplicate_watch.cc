// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/duplicate_watch.h"

#include <linux/if_ether.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/ip/frames.h"

namespace veeamha::net::ip {

std::string duplicate_answer(const uint8_t* frame, size_t len, const Mac& own, const IpAddress& address) {
    if (address.family == AF_INET) {
        auto arp = parse_arp(frame, len);
        if (!arp || arp->eth_source == own || arp->sender_mac == own) return {};
        if (arp->sender_ip == address)
            return "MAC " + mac_text(arp->sender_mac) + (arp->op == 2 ? " answered our ARP probe" : " announces it");
        IpAddress zero;
        zero.family = AF_INET;
        if (arp->op == 1 && arp->sender_ip == zero && arp->target_ip == address)
            return "MAC " + mac_text(arp->sender_mac) + " is probing for it at the same time";
        return {};
    }
    auto nd = parse_ndp(frame, len);
    if (!nd || nd->eth_source == own || !(nd->target == address)) return {};
    Mac who = nd->link_layer.value_or(nd->eth_source);
    if (nd->type == 136) return "MAC " + mac_text(who) + " answered our duplicate address detection";
    IpAddress unspecified;
    unspecified.family = AF_INET6;
    if (nd->source == unspecified)
        return "MAC " + mac_text(who) + " is running duplicate address detection for it at the same time";
    return {};
}

namespace {

WatchSettings with_one_probe_at_least(WatchSettings s) {
    s.probes = std::max(1, s.probes);
    return s;
}

}  // namespace

DuplicateWatch::DuplicateWatch(int ifindex, const Mac& own, const IpAddress& address, WatchSettings settings)
    : ifindex_(ifindex), own_(own), address_(address), settings_(with_one_probe_at_least(settings)) {
    auto now = base::Clock::now();
    first_probe_ = now;
    life_end_ = now + settings_.life;
    error_ = socket_.open(ifindex, address.family == AF_INET ? ETH_P_ARP : ETH_P_IPV6);
    if (error_.empty()) {
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) error_ = std::string("eventfd: ") + std::strerror(errno);
    }
    if (!error_.empty()) {
        ended_ = true;
        ended_at_ = now;
        return;
    }
    thread_ = std::thread([this] { run(); });
}

DuplicateWatch::~DuplicateWatch() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    if (wake_fd_ >= 0) {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool DuplicateWatch::watches(int ifindex, const Mac& own, const IpAddress& address) const {
    return ifindex == ifindex_ && own == own_ && address == address_;
}

bool DuplicateWatch::extend() {
    std::lock_guard lock(mutex_);
    if (ended_) return false;
    life_end_ = base::Clock::now() + settings_.life;
    return true;
}

base::Clock::time_point DuplicateWatch::complete_at() const {
    if (probes_sent_ < settings_.probes) return base::Clock::time_point::max();
    // The whole window, and after the last probe as long as the probes are apart: a thread that
    // was late sending it still listens for its answer.
    return std::max(first_probe_ + settings_.window, last_probe_ + settings_.window / settings_.probes);
}

void DuplicateWatch::run() {
    const Frame probe = address_.family == AF_INET ? arp_probe(own_, address_) : ndp_dad_solicitation(own_, address_);
    std::string found;
    auto check = [&](const uint8_t* frame, size_t len) {
        found = duplicate_answer(frame, len, own_, address_);
        return !found.empty();
    };
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto now = base::Clock::now();
        if (now >= life_end_) {
            expired_ = true;
            break;
        }
        auto next_probe = probes_sent_ < settings_.probes
                              ? first_probe_ + settings_.window * probes_sent_ / settings_.probes
                              : last_probe_ + settings_.reprobe;
        if (now >= next_probe) {
            lock.unlock();
            int e = socket_.send(probe);
            lock.lock();
            if (e != 0) {
                error_ = std::string("sending the probe: ") + std::strerror(e);
                break;
            }
            ++probes_sent_;
            last_probe_ = base::Clock::now();
            changed_.notify_all();
            continue;
        }
        auto until = std::min(next_probe, life_end_);
        lock.unlock();
        PacketSocket::Received got = socket_.receive_until(until, check, wake_fd_);
        lock.lock();
        if (got.matched) {
            answer_ = found;
            break;
        }
        // Silence proves nothing if we could not listen: an error ends the watch.
        if (got.error) {
            error_ = std::string("listening for an answer: ") + std::strerror(got.error);
            break;
        }
    }
    ended_ = true;
    ended_at_ = base::Clock::now();
    changed_.notify_all();
}

DuplicateWatch::Verdict DuplicateWatch::verdict(base::Clock::time_point from, base::Deadline deadline) {
    {
        std::unique_lock lock(mutex_);
        while (!ended_ && base::Clock::now() < std::min(deadline, complete_at()))
            changed_.wait_until(lock, std::min(deadline, complete_at()));
        stopping_ = true;
    }
    if (wake_fd_ >= 0) {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();

    // The thread has ended: its state is ours now.
    const bool before = ended_at_ < from;
    if (!answer_.empty()) {
        if (before) return {Verdict::Inconclusive, "an answer came before the start (" + answer_ + ")"};
        return {Verdict::Duplicate, answer_};
    }
    if (!error_.empty()) {
        if (before) return {Verdict::Inconclusive, "the early probe failed (" + error_ + ")"};
        return {Verdict::Error, error_};
    }
    // Ended by its life, not by us: nobody listened between then and now.
    if (expired_) return {Verdict::Inconclusive, "the early probe had ended"};
    // What arrived while the thread was stopping is still queued.
    std::string found;
    PacketSocket::Received got = socket_.receive_until(base::Clock::now(), [&](const uint8_t* f, size_t len) {
        found = duplicate_answer(f, len, own_, address_);
        return !found.empty();
    });
    if (got.matched) return {Verdict::Duplicate, found};
    if (got.error) return {Verdict::Error, std::string("listening for an answer: ") + std::strerror(got.error)};
    if (base::Clock::now() < complete_at()) return {Verdict::Unfinished, "the deadline came before the probes were done"};
    return {Verdict::Clear, {}};
}

}  // namespace veeamha::net::ip

// SPDX-License-Identifier: GPL-2.0-or-later
// Is anybody on the link using an address we are about to add? Probes for it (RFC 5227 ARP
// probes from 0.0.0.0 for IPv4, DAD neighbour solicitations from :: for IPv6, which claim
// nothing and change nobody's cache), `probes` of them spread over `window`, then once a
// second, listening all the time on a thread this object owns, until the verdict is asked for
// or `life` passes. Started ahead of the address's turn (IpResource::prepare) it has usually
// run its window when the start comes; listening until the very moment of the start makes it
// stricter than one probe burst right before the add, not looser.
//
// An answer heard before the verdict was asked for proves nothing: the peer that was being
// fenced, or was still releasing the address, may have sent it. Such a watch is inconclusive
// and the start probes afresh; only silence is taken from the time before.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "base/deadline.h"
#include "net/ip/netlink.h"
#include "net/ip/packet_socket.h"

namespace veeamha::net::ip {

struct WatchSettings {
    std::chrono::milliseconds window{50};
    int probes = 3;
    std::chrono::milliseconds reprobe{1000};  // after the window
    std::chrono::milliseconds life{60000};    // ends by itself after this without a verdict
};

// Who answered a probe for `address` in this frame, or empty. Frames from `own` are ours.
std::string duplicate_answer(const uint8_t* frame, size_t len, const Mac& own, const IpAddress& address);

class DuplicateWatch {
public:
    // Opens the socket in the calling thread's network namespace and starts probing at once.
    DuplicateWatch(int ifindex, const Mac& own, const IpAddress& address, WatchSettings settings);
    ~DuplicateWatch();
    DuplicateWatch(const DuplicateWatch&) = delete;
    DuplicateWatch& operator=(const DuplicateWatch&) = delete;

    bool watches(int ifindex, const Mac& own, const IpAddress& address) const;
    // Another `life` from now (a Prepare sent again). False if the watch has already ended.
    bool extend();

    struct Verdict {
        enum Kind { Clear, Duplicate, Error, Inconclusive, Unfinished } kind = Unfinished;
        // Duplicate: who answered. Error: why the probe could not run. Inconclusive: why
        // nothing can be concluded. Unfinished: the deadline came before the window was over.
        std::string text;
    };
    // Waits until the window has run (all probes sent, and each had time for an answer), an
    // answer comes or `deadline` passes; then stops the watch and reads what is still queued.
    // `from`: the moment the start began; answers before it make the verdict Inconclusive.
    Verdict verdict(base::Clock::time_point from, base::Deadline deadline);

private:
    void run();
    base::Clock::time_point complete_at() const;  // with mutex_ held

    const int ifindex_;
    const Mac own_;
    const IpAddress address_;
    const WatchSettings settings_;
    PacketSocket socket_;
    int wake_fd_ = -1;  // eventfd: stops the thread's wait at once

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    bool ended_ = false;  // the thread ended: answer, error, life over, or asked to stop
    bool expired_ = false;  // ended because its life was over
    base::Clock::time_point ended_at_{};
    base::Clock::time_point first_probe_{};
    base::Clock::time_point last_probe_{};
    base::Clock::time_point life_end_{};
    int probes_sent_ = 0;
    std::string answer_;  // who answered
    std::string error_;
    std::thread thread_;
};

}  // namespace veeamha::net::ip

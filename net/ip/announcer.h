// SPDX-License-Identifier: GPL-2.0-or-later
// Sends the gratuitous ARP / unsolicited NA burst after an address move: the first round at
// once (in the caller), the remaining count-1 rounds `interval` apart and, if repeat_after > 0,
// the whole burst once more `repeat_after` after the first round, from a thread this object owns.
// stop() (or the destructor) ends the thread at once. The socket was opened by the caller, so
// frames leave from the caller's network namespace whatever thread sends them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/ip/packet_socket.h"

namespace veeamha::net::ip {

struct AnnounceSchedule {
    int count = 5;
    std::chrono::milliseconds interval{200};
    std::chrono::milliseconds repeat_after{5000};  // 0 = no second burst
    // Offsets of every round from the first one (the first is 0).
    std::vector<std::chrono::milliseconds> offsets() const;
};

class Announcer {
public:
    Announcer(PacketSocket socket, std::vector<Frame> frames, AnnounceSchedule schedule, std::string what);
    ~Announcer();
    Announcer(const Announcer&) = delete;
    Announcer& operator=(const Announcer&) = delete;

    // Sends the first round now and starts the thread for the rest. Returns errno of the
    // first frame that could not be sent in this round, or 0.
    int start();
    void stop();
    int rounds_sent() const { return rounds_sent_.load(); }
    bool finished() const { return finished_.load(); }

private:
    int send_round();
    void run(base::Clock::time_point first);

    PacketSocket socket_;
    std::vector<Frame> frames_;
    AnnounceSchedule schedule_;
    std::string what_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::atomic<int> rounds_sent_{0};
    std::atomic<bool> finished_{false};
    std::thread thread_;
};

}  // namespace veeamha::net::ip

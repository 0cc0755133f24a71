// SPDX-License-Identifier: GPL-2.0-or-later
// A raw AF_PACKET socket on one interface: whole Ethernet frames out and in. Created in the
// calling thread's network namespace and bound to the interface, so frames for other
// interfaces never reach it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/deadline.h"
#include "net/ip/frames.h"

namespace veeamha::net::ip {

class PacketSocket {
public:
    PacketSocket() = default;
    ~PacketSocket();
    PacketSocket(PacketSocket&& o) noexcept : fd_(o.fd_), ifindex_(o.ifindex_) { o.fd_ = -1; }
    PacketSocket& operator=(PacketSocket&& o) noexcept;
    PacketSocket(const PacketSocket&) = delete;
    PacketSocket& operator=(const PacketSocket&) = delete;

    // `receive_ethertype` 0 = a send-only socket (the kernel queues nothing for it).
    // Returns an error text naming the interface, or empty.
    std::string open(int ifindex, uint16_t receive_ethertype);
    bool is_open() const { return fd_ >= 0; }

    // Sends one frame; returns errno or 0.
    int send(const Frame& frame);

    // Calls on_frame for every frame received from another host on the interface until it
    // returns true or `until` passes (an `until` already past reads what is queued, without
    // waiting). `matched`: on_frame returned true; `error`: the errno of a failed poll/recvfrom
    // that ended the wait early (0 if none): then nothing can be concluded from the silence;
    // `woken`: `wake_fd` (if >= 0) became readable and ended the wait early.
    struct Received {
        bool matched = false;
        int error = 0;
        bool woken = false;
    };
    Received receive_until(base::Deadline until, const std::function<bool(const uint8_t*, size_t)>& on_frame,
                           int wake_fd = -1);

private:
    int fd_ = -1;
    int ifindex_ = 0;
};

}  // namespace veeamha::net::ip

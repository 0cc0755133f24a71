// SPDX-License-Identifier: GPL-2.0-or-later
// Per-link measurements from the heartbeats of one link: up/down, last heard, RTT from the
// echoed seq, loss over a sliding window of the peer's seqs. Pure (time is passed in) so it is
// unit-testable; HeartbeatService owns one per link.
//
// - up: a fresh, authentic heartbeat arrived within heartbeat.timeout. Starts down.
// - RTT: the peer echoes the last seq it got from us on this link and how long it held it;
//   RTT = now - (when we sent that seq) - held time. Smoothed like TCP's SRTT (1/8 gain).
// - loss: share of the peer's seqs missing among the last kLossWindow seqs up to the highest
//   seen (a seq arriving late, within the window, still counts as received).
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proto/veeamha.pb.h"

namespace veeamha::net {

using Clock = std::chrono::steady_clock;

struct LinkStats {
    bool up = false;
    std::optional<Clock::time_point> last_heard;
    std::optional<double> rtt_ms;       // smoothed; empty until the first echo
    std::optional<double> last_rtt_ms;
    double loss = 0.0;                  // 0..1
    uint64_t sent = 0;                  // heartbeats sent on this link
    uint64_t send_errors = 0;
    uint64_t received = 0;              // delivered: authentic, fresh, bound
    uint64_t dropped = 0;               // datagrams dropped on this link, any reason
    uint64_t went_up = 0;
    uint64_t went_down = 0;
    std::string last_send_error;        // empty if the last send worked
};

class LinkMonitor {
public:
    static constexpr uint64_t kLossWindow = 128;

    void on_sent(uint64_t seq, Clock::time_point now);
    void on_send_error(const std::string& what);
    // A delivered heartbeat. Returns true when the link goes up with it.
    bool on_heartbeat(const wire::Heartbeat& hb, Clock::time_point now);
    void on_dropped() { ++stats_.dropped; }
    // Returns true when the link goes down now (silent for `timeout`).
    bool check_silence(Clock::time_point now, Clock::duration timeout);
    // When the link goes down if nothing more arrives; only meaningful while up.
    Clock::time_point silence_deadline(Clock::duration timeout) const {
        return *stats_.last_heard + timeout;
    }
    // Fills echo_seq and echo_delay_us of an outgoing heartbeat.
    void fill_echo(wire::Heartbeat& hb, Clock::time_point now) const;

    const LinkStats& stats() const { return stats_; }

private:
    LinkStats stats_;
    // Sent seqs and when (for RTT).
    std::array<std::pair<uint64_t, Clock::time_point>, 64> sent_{};
    uint64_t last_echo_used_ = 0;
    // The peer's stream on this link.
    uint64_t peer_incarnation_ = 0;
    uint64_t peer_first_seq_ = 0;
    uint64_t peer_highest_ = 0;
    std::bitset<kLossWindow> peer_seen_;
    Clock::time_point peer_highest_at_{};
};

}  // namespace veeamha::net

// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/link_monitor.h"

#include <algorithm>

namespace veeamha::net {

void LinkMonitor::on_sent(uint64_t seq, Clock::time_point now) {
    sent_[seq % sent_.size()] = {seq, now};
    ++stats_.sent;
    stats_.last_send_error.clear();
}

void LinkMonitor::on_send_error(const std::string& what) {
    ++stats_.send_errors;
    stats_.last_send_error = what;
}

bool LinkMonitor::on_heartbeat(const wire::Heartbeat& hb, Clock::time_point now) {
    const uint64_t seq = hb.seq();
    if (hb.incarnation() != peer_incarnation_) {  // the peer (re)started: new stream
        peer_incarnation_ = hb.incarnation();
        peer_first_seq_ = seq;
        peer_highest_ = 0;
        peer_seen_.reset();
    }
    if (seq > peer_highest_) {
        if (seq - peer_highest_ >= kLossWindow) {
            peer_seen_.reset();
        } else {
            for (uint64_t s = peer_highest_ + 1; s <= seq; ++s) peer_seen_.reset(s % kLossWindow);
        }
        peer_highest_ = seq;
        peer_highest_at_ = now;
    }
    if (peer_highest_ - seq < kLossWindow) peer_seen_.set(seq % kLossWindow);
    uint64_t span = std::min<uint64_t>(kLossWindow, peer_highest_ - peer_first_seq_ + 1);
    uint64_t got = std::min<uint64_t>(peer_seen_.count(), span);
    stats_.loss = span == 0 ? 0.0 : 1.0 - static_cast<double>(got) / static_cast<double>(span);

    // RTT from the echo of one of our seqs, each echo used once.
    uint64_t echo = hb.echo_seq();
    if (echo != 0 && echo > last_echo_used_) {
        const auto& slot = sent_[echo % sent_.size()];
        if (slot.first == echo) {
            auto rtt = now - slot.second - std::chrono::microseconds(hb.echo_delay_us());
            double ms = std::max(0.0, std::chrono::duration<double, std::milli>(rtt).count());
            stats_.last_rtt_ms = ms;
            stats_.rtt_ms = stats_.rtt_ms ? *stats_.rtt_ms + (ms - *stats_.rtt_ms) / 8 : ms;
            last_echo_used_ = echo;
        }
    }

    ++stats_.received;
    if (!stats_.last_heard || now > *stats_.last_heard) stats_.last_heard = now;
    if (!stats_.up) {
        stats_.up = true;
        ++stats_.went_up;
        return true;
    }
    return false;
}

bool LinkMonitor::check_silence(Clock::time_point now, Clock::duration timeout) {
    if (!stats_.up || !stats_.last_heard || now < *stats_.last_heard + timeout) return false;
    stats_.up = false;
    ++stats_.went_down;
    return true;
}

void LinkMonitor::fill_echo(wire::Heartbeat& hb, Clock::time_point now) const {
    if (peer_highest_ == 0) {
        hb.set_echo_seq(0);
        hb.set_echo_delay_us(0);
        return;
    }
    hb.set_echo_seq(peer_highest_);
    auto held = std::chrono::duration_cast<std::chrono::microseconds>(now - peer_highest_at_);
    hb.set_echo_delay_us(static_cast<uint64_t>(std::max<int64_t>(0, held.count())));
}

}  // namespace veeamha::net

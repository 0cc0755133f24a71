// SPDX-License-Identifier: GPL-2.0-or-later
// Membership: is the peer up, lost, fenced or gone? Decided from heartbeats on all links and the
// peer channel; a peer is lost only when it is silent on every one of them for
// heartbeat.timeout. A new incarnation (process start) is a new peer; the processes it replaced,
// and any the node fenced, are never listened to again.
#include <algorithm>

#include "daemon/engine/engine.h"

namespace veeamha::engine {

Millis Engine::peer_last_heard() const {
    Millis last = peer_.channel_heard;
    for (Millis t : peer_.heard) last = std::max(last, t);
    return last;
}

void Engine::bury_incarnation(uint64_t incarnation) {
    if (is_dead_incarnation(incarnation)) return;
    dead_incarnations_.push_back(incarnation);
    // Bounded: a peer restarting in a loop must not grow memory. The oldest go first (the one
    // just fenced stays); a process that old has long stopped sending.
    while (dead_incarnations_.size() > 16) dead_incarnations_.pop_front();
}

bool Engine::is_dead_incarnation(uint64_t incarnation) const {
    return std::find(dead_incarnations_.begin(), dead_incarnations_.end(), incarnation) != dead_incarnations_.end();
}

void Engine::peer_incarnation_changed(uint64_t incarnation) {
    bool rejoin = peer_.incarnation != 0;
    if (rejoin) bury_incarnation(peer_.incarnation);
    Membership before = peer_.membership;
    peer_.incarnation = incarnation;
    peer_.have_state = false;
    peer_.state = NodeState{};
    std::fill(peer_.heard.begin(), peer_.heard.end(), -1);
    peer_.channel_heard = -1;
    peer_.membership = Membership::Up;
    peer_.lost_at = -1;
    fence_.delay_applied = false;
    ping_.reachable_ok = false;
    ping_.op_id.reset();  // as for peer-back: an answer in flight is stale
    ping_.reported_isolated = false;
    event(Level::Notice, "peer-joined",
          peer_name() + (rejoin ? " rejoined (new process" : " is up (process") +
              (before == Membership::Fenced ? ", after being fenced)" : ")"));
}

void Engine::update_membership() {
    const Millis timeout = ms(config_.heartbeat.timeout);
    const Millis last = peer_last_heard();
    switch (peer_.membership) {
        case Membership::Unknown:
            // Rule 3: a node that starts and cannot see its peer treats it as lost after two
            // heartbeat timeouts (startup fencing then applies).
            if (now_.mono - started_at_ >= 2 * timeout) {
                peer_.membership = Membership::Lost;
                peer_.lost_at = now_.mono;
                peer_.was_holding = false;
                event(Level::Warning, "peer-lost",
                      peer_name() + " not heard on any of " + std::to_string(peer_.heard.size()) +
                          " links since this node started " + format_ms(now_.mono - started_at_) +
                          " ago");
            }
            break;
        case Membership::Up:
            if (last >= 0 && now_.mono - last >= timeout) {
                peer_.membership = Membership::Lost;
                peer_.lost_at = now_.mono;
                peer_.was_holding = peer_.have_state && peer_.state.holding;
                event(Level::Warning, "peer-lost",
                      peer_name() + " lost: silent on all " + std::to_string(peer_.heard.size()) +
                          " links for " + format_ms(now_.mono - last) +
                          (peer_.was_holding ? " (it was running the group)" : ""));
            }
            break;
        case Membership::Lost:
            if (last >= 0 && now_.mono - last < timeout) {
                peer_.membership = Membership::Up;
                peer_.lost_at = -1;
                fence_.delay_applied = false;
                // A ping still in flight answers a question nobody asks any more: its answer
                // must not count for a later loss (rule 4b wants a fresh one), nor report
                // this node isolated while it hears its peer.
                ping_.reachable_ok = false;
                ping_.op_id.reset();
                ping_.reported_isolated = false;  // a later isolation is reported again
                event(Level::Notice, "peer-back", peer_name() + " is heard again");
            }
            break;
        case Membership::Fenced:
        case Membership::Left:
            break;  // until a new incarnation speaks
    }
}

void Engine::mark_peer_fenced(const std::string& why) {
    // Only the process the fence was aimed at (and any before it) is known dead. A newer
    // incarnation heard meanwhile booted after the power-off (fencing by reboot) and is alive,
    // though necessarily not running the group: it could only get it from this node.
    bool newer_alive = fence_.target_incarnation != 0 && peer_.incarnation != fence_.target_incarnation &&
                       peer_.membership == Membership::Up;
    if (fence_.target_incarnation != 0) bury_incarnation(fence_.target_incarnation);
    if (!newer_alive) {
        if (peer_.incarnation != 0) bury_incarnation(peer_.incarnation);
        peer_.membership = Membership::Fenced;
        peer_.have_state = false;
        peer_.state.holding = false;
    }
    event(Level::Notice, "fenced", why + (newer_alive ? "; it has already booted again" : ""));
}

}  // namespace veeamha::engine

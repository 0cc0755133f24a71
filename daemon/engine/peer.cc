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

void Engine::bury_incarnation(uint64_t incarnation, bool fenced) {
    if (is_dead_incarnation(incarnation)) return;
    auto& list = fenced ? fenced_incarnations_ : replaced_incarnations_;
    list.push_back(incarnation);
    // Bounded: a peer restarting in a loop must not grow memory. The oldest go first (the one
    // just fenced stays); a process that old has long stopped sending.
    while (list.size() > 16) list.pop_front();
}

bool Engine::is_dead_incarnation(uint64_t incarnation) const {
    auto in = [incarnation](const std::deque<uint64_t>& list) {
        return std::find(list.begin(), list.end(), incarnation) != list.end();
    };
    return in(replaced_incarnations_) || in(fenced_incarnations_);
}

// A process this node fenced (power-off read back) is heard again. A datagram delayed in the
// network or a paused VM's backlog may arrive late, once; a process that keeps sending for a
// heartbeat timeout is alive, and the fence that "confirmed" it off lied (a wrong UUID, a
// fencer that reports off while the VM runs). Then it is taken back as alive: the normal rules
// (the lower epoch yields) decide, and the admin is told at once.
bool Engine::heard_ghost(uint64_t incarnation) {
    if (std::find(fenced_incarnations_.begin(), fenced_incarnations_.end(), incarnation) ==
        fenced_incarnations_.end())
        return false;  // replaced by a newer process: its late datagrams mean nothing
    const Millis timeout = ms(config_.heartbeat.timeout);
    if (ghost_.incarnation != incarnation || now_.mono - ghost_.last > timeout)
        ghost_ = Ghost{incarnation, now_.mono, now_.mono, 0};  // a new run of messages
    ghost_.last = now_.mono;
    if (++ghost_.count < 3 || now_.mono - ghost_.first < timeout) return false;
    fenced_incarnations_.erase(std::find(fenced_incarnations_.begin(), fenced_incarnations_.end(), incarnation));
    ghost_ = Ghost{};
    event(Level::Error, "fence-lied",
          peer_name() + "'s process " + std::to_string(incarnation) + ", which a fence reported powered off, is "
          "still sending: the FENCE LIED (a wrong VM UUID? a fencer that reports off while the VM runs?). "
          "Taking it back as alive; check the fencing configuration (`veeam-hactl fence status " + peer_name() + "`)");
    peer_.incarnation = 0;  // heard as a new peer from now on
    return true;
}

void Engine::peer_incarnation_changed(uint64_t incarnation) {
    bool rejoin = peer_.incarnation != 0;
    if (rejoin) bury_incarnation(peer_.incarnation, false);
    Membership before = peer_.membership;
    peer_.incarnation = incarnation;
    peer_.have_state = false;
    peer_.state = NodeState{};
    std::fill(peer_.heard.begin(), peer_.heard.end(), -1);
    peer_.channel_heard = -1;
    peer_.membership = Membership::Up;
    peer_.lost_at = -1;
    peer_.read_off = peer_.fenced_by_admin = false;
    fence_.delay_applied = false;
    fence_.reported_at = -1;  // a loss after this one is said afresh
    fence_.quiet = false;
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
                fence_.reported_at = -1;
                fence_.quiet = false;
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
    // Every process of the peer heard so far ran before the power-off was read back: they are
    // all dead (with fencing.action reboot the engine powers the peer on only after this, so
    // no new one can have started in between; one that does, powered on by someone else, is
    // heard again and reported by heard_ghost).
    peer_.read_off = false;  // a fence or the admin's word, not a power read
    if (fence_.target_incarnation != 0) bury_incarnation(fence_.target_incarnation, true);
    if (peer_.incarnation != 0) bury_incarnation(peer_.incarnation, true);
    peer_.membership = Membership::Fenced;
    peer_.have_state = false;
    peer_.state.holding = false;
    event(Level::Notice, "fenced", why);
}

}  // namespace veeamha::engine

// SPDX-License-Identifier: GPL-2.0-or-later
// Who runs the group. The rules (README.md next to this file):
//  - A node runs the group only while it *holds* it, and it comes to hold it only by
//    (a) a grant from the peer (the peer is stopped, persisted the new epoch as the peer's and
//        published it), (b) the peer leaving cleanly, (c) a confirmed fence of the peer,
//    (d) an admin's confirm-fenced, (e) a peer never heard since this node started and read
//    back as powered off, or (f) adopting a group it already ran before a daemon restart in
//    the same boot. Never on a timeout alone.
//  - Each acquisition takes a new epoch, persisted before any resource starts. The two nodes
//    draw epochs from disjoint sequences, so that no epoch is ever taken by both.
//  - A node never fences a peer it has not heard since it started: it reads the peer's power
//    instead, and waits for a peer that is on (a rebooted node that cannot hear its peer would
//    otherwise fence it in turn, and so on: the fence loop).
//  - A holder that should not run the group any more stops it, then releases; a stopped node
//    grants the group to a peer that asks for it and should have it.
//  - Before fencing a lost peer a node waits fence_delay if it is the non-preferred one and the
//    peer was not running the group (rule 4), and checks that it is not the isolated one by
//    asking for a ping of policy.ping_targets (rule 4b).
#include <algorithm>

#include "daemon/engine/engine.h"

namespace veeamha::engine {

bool Engine::eligible_self() const {
    return started_ && probes_done() && !unclean_ && !persisted_.standby && !shutting_down_ &&
           !over_threshold();
}

bool Engine::peer_eligible() const {
    if (!peer_up() || !peer_.have_state) return false;
    const NodeState& s = peer_.state;
    bool known_group = s.group == GroupState::Stopped || s.group == GroupState::Started ||
                       s.group == GroupState::Starting || s.group == GroupState::Stopping;
    return known_group && !s.standby && !s.unclean && !s.leaving && !s.yielding;
}

// An unclean holder does not count: its stop failed, so it must be fenced, not waited for.
bool Engine::peer_holding() const {
    return peer_up() && peer_.have_state && peer_.state.holding && !peer_.state.unclean;
}

// The same order as config::Config::preferred_node(): priority, then the node listed first. The
// peer's priority is what it says of itself: if the two files differ, both nodes still agree
// on who is preferred (else both would wait for the other's grant, or both fence at once).
bool Engine::outranks_peer() const {
    int mine = config_.nodes[local_idx_].priority, theirs = config_.nodes[peer_idx_].priority;
    if (peer_.have_state && peer_.state.priority) theirs = *peer_.state.priority;
    if (mine != theirs) return mine > theirs;
    return local_idx_ < peer_idx_;
}

bool Engine::yielding() const {
    if (persisted_.standby || unclean_ || over_threshold() || shutting_down_) return true;
    if (move_away_) return true;  // until the peer holds the group (or cannot take it)
    // failback: true hands the group back to the preferred node once it is ready for it.
    if (holding_ && (config_.policy.failback || MUTANT(FailbackWhenOff)) && peer_eligible() && !outranks_peer())
        return true;
    return false;
}

bool Engine::wants_group() const {
    if (!eligible_self() || yielding()) return false;
    if (holding_) return true;
    if (peer_holding()) return false;  // stickiness: never pull the group off a running peer
    return !peer_eligible() || outranks_peer();
}

uint64_t Engine::highest_epoch_seen() const {
    return std::max({persisted_.epoch, peer_max_epoch_, grant_epoch_});
}

void Engine::decide_ownership() {
    if (!started_ || !probes_done() || exited_) return;

    // Adopt a group this node was running before its daemon restarted (rule 7): probe first,
    // never restart a healthy group. Decided once, right after the first probe.
    if (!adoption_decided_) {
        // Only what this node started in this boot (a daemon restart); after a reboot even a
        // group this node ran is the OS's doing (and so after a later daemon restart too).
        bool same_boot = (!boot_id_.empty() && persisted_.owner_boot_id == boot_id_) || MUTANT(AdoptAfterReboot);
        // The owner as the peer told it since (a passive follows the holder's epoch and owner)
        // counts, not only as it was on disk at start.
        const std::string& owner = MUTANT(AdoptWithoutPeerCheck) ? owner_at_start_ : persisted_.owner;
        bool could_adopt = !holding_ && same_boot && owner == local_name() && !res_.empty() &&
                           res_[0].state == ResourceState::Started && !unclean_;
        // Decided once, knowing whether the peer holds the group: with its state, or when it
        // has not been heard within the startup grace. Until then nothing is started or stopped.
        if (could_adopt && !peer_.have_state && peer_.membership != Membership::Lost) return;
        adoption_decided_ = true;
        bool peer_has_it = peer_holding() && !MUTANT(AdoptWithoutPeerCheck);
        if (could_adopt && !peer_has_it) {
            holding_ = true;
            acquired_via_ = Acquired::Adopted;
            event(Level::Notice, "adopt",
                  "adopting the group already running here (epoch " +
                      std::to_string(persisted_.epoch) + "); nothing is restarted");
        } else if (persisted_.owner_boot_id != boot_id_ || boot_id_.empty()) {
            // Not taken in this boot: nothing running here was started by veeam-had; the OS
            // did (an fstab line, LVM autoactivation, an enabled unit), and the peer may be
            // running the group. It is stopped, never adopted.
            std::string found;
            for (size_t i = 0; i < res_.size(); ++i) {
                if (res_[i].state == ResourceState::Stopped) continue;
                res_[i].foreign = true;
                found += (found.empty() ? "" : ", ") + config_.resources[i].name;
            }
            if (!found.empty())
                event(Level::Error, "found-active-at-boot",
                      "after a reboot " + found + " " + (found.find(',') == std::string::npos ? "was" : "were") +
                          " found active, started by the OS and not by veeam-had: stopping " +
                          (found.find(',') == std::string::npos ? "it" : "them") +
                          " (make the OS leave the group's resources alone at boot: fstab noauto, "
                          "LVM system IDs, units disabled)");
        }
    }

    if (effective_maintenance()) return;  // nothing starts, stops, fences or moves

    // An admin move lasts until the peer holds the group; it is cancelled if the peer can no
    // longer take it (then this node runs the group again, by the usual rules).
    if (move_away_ && (peer_holding() || !peer_eligible())) {
        if (!peer_holding())
            event(Level::Warning, "move-cancelled",
                  "move to " + peer_name() + " cancelled: it can no longer take the group");
        move_away_ = false;
    }

    if (holding_) {
        // An unclean peer may have something of the group active (its stop failed): fence it
        // even while this node runs the group; drive_group will not cold-start meanwhile.
        if (peer_up() && peer_.have_state && peer_.state.unclean && !unclean_) {
            pursue_fence(peer_name() + " reports a failed stop (unclean)");
        }
        if (wants_group()) return;
        if (!all_stopped() || unclean_) return;  // drive_group is stopping it
        release(persisted_.standby    ? "this node is in standby"
                : shutting_down_      ? "this node is shutting down"
                : move_away_          ? "admin move to " + peer_name()
                : over_threshold()    ? "too many failures here"
                : yielding()          ? "failback to the preferred node " + peer_name()
                                      : "this node cannot run it");
    }
    if (unclean_) return;

    consider_grant();
    if (!wants_group() || !all_stopped()) {
        // Not a candidate (or leftovers are still being stopped): no fencing on its behalf.
        return;
    }

    switch (peer_.membership) {
        case Membership::Up: {
            const NodeState& s = peer_.state;
            if (!peer_.have_state || peer_.stale) return;
            if (s.unclean || s.group == GroupState::Unclean) {
                pursue_fence(peer_name() + " reports a failed stop (unclean)");
                return;
            }
            if (!s.holding && s.group == GroupState::Stopped && s.grant_epoch > persisted_.epoch &&
                s.grant_epoch > grant_epoch_) {
                acquire(Acquired::Grant, s.grant_epoch,
                        peer_name() + " stopped everything and granted it");
            }
            return;
        }
        case Membership::Left:
            acquire(Acquired::PeerLeft, next_epoch_for(local_name()),
                    peer_name() + " left cleanly with the group stopped");
            return;
        case Membership::Fenced: {
            const uint64_t epoch = next_epoch_for(local_name());
            if (peer_.fenced_by_admin)
                acquire(Acquired::AdminConfirm, epoch,
                        "the admin confirmed " + peer_name() + " is off (confirm-fenced)");
            else if (peer_.read_off)
                acquire(Acquired::PeerOff, epoch,
                        peer_name() + ", not heard since this node started, is powered off (read back)");
            else
                acquire(Acquired::Fence, epoch, peer_name() + " was fenced (power-off confirmed)");
            return;
        }
        case Membership::Lost: {
            if (MUTANT(TakeoverOnTimeout)) {
                acquire(Acquired::Unsafe, next_epoch_for(local_name()),
                        "PLANTED BUG: " + peer_name() + " timed out");
                return;
            }
            bool never_seen = peer_.incarnation == 0;
            if (never_seen && !config_.policy.startup_fencing) {
                acquire(Acquired::Unsafe, next_epoch_for(local_name()),
                        peer_name() + " not seen since start and policy.startup_fencing is false "
                                      "(UNSAFE: if it runs the group, the data is at risk)");
                return;
            }
            if (never_seen && !MUTANT(StartupFence)) {
                check_peer_off(peer_name() + " has not been heard since this node started");
                return;
            }
            pursue_fence(never_seen ? peer_name() + " has not been seen since this node started"
                                    : peer_name() + " is lost on all links" +
                                          (peer_.was_holding ? " and was running the group" : ""));
            return;
        }
        case Membership::Unknown:
            return;  // startup grace: wait to hear it
    }
}

void Engine::consider_grant() {
    // Never while fencing the peer: the power-off may still land on the process that got it.
    bool fencing_peer = fence_.op_id && fence_.action != FenceAction::Check;
    bool can_grant = !holding_ && !unclean_ && !fencing_peer && probes_done() && all_stopped() && peer_up() &&
                     peer_.have_state && peer_.state.wants_group && !peer_.state.holding &&
                     peer_eligible() && !effective_maintenance() && !wants_group();
    if (!can_grant) {
        grant_epoch_ = 0;  // withdrawn; the persisted epoch still bars this node
        return;
    }
    if (grant_epoch_ != 0 && grant_epoch_ > peer_.state.epoch) return;  // already granted
    grant_epoch_ = next_epoch_for(peer_name());
    if (!MUTANT(GrantBeforePersist)) {
        // In this step's persist, which is written before the grant is published: after a
        // restart this node knows it gave the epoch away.
        persisted_.epoch = grant_epoch_;
        persisted_.owner = peer_name();
        persist_now();
    }
    event(Level::Notice, "grant",
          "granting the group to " + peer_name() + " at epoch " + std::to_string(grant_epoch_) +
              " (" + (yielding() ? "this node does not want it" : peer_name() + " is preferred") +
              ")");
}

void Engine::pursue_fence(const std::string& why) {
    if (fence_.op_id) return;
    if (now_.mono < fence_.next_attempt) return;
    bool peer_talking = peer_up();  // unclean peer: it is reachable, so no isolation question
    if (!peer_talking && !fence_.delay_applied) {
        fence_.delay_applied = true;
        Millis delay = ms(config_.fencing.delay);
        if (!peer_.was_holding && !outranks_peer() && delay > 0) {
            Millis from = peer_.lost_at >= 0 ? peer_.lost_at : now_.mono;
            fence_.next_attempt = std::max(fence_.next_attempt, from + delay);
            event(Level::Notice, "fence-delay",
                  "both nodes are passive and " + peer_name() +
                      " has priority in fence races: waiting fencing.delay " + format_ms(delay) +
                      " before fencing it");
            if (now_.mono < fence_.next_attempt) return;
        }
    }
    if (!peer_talking && !config_.policy.ping_targets.empty()) {
        if (!ping_.reachable_ok) {
            if (!ping_.op_id && now_.mono >= ping_.retry_at) {
                ping_.op_id = next_op_id();
                ping_.guard = now_.mono + ms(config_.policy.ping_timeout) + 2000;
                act(Ping{*ping_.op_id, "before fencing " + peer_name() + ": " + why});
            }
            return;
        }
        ping_.reachable_ok = false;  // one answer, one fence attempt
    }
    fence_.op_id = next_op_id();
    fence_.action = FenceAction::Off;
    fence_.target_incarnation = peer_.incarnation;
    fence_.guard = now_.mono + ms(config_.fencing.timeout) + 5000;
    act(Fence{*fence_.op_id, peer_name(), fence_.action, ms(config_.fencing.timeout), why});
    // What does not depend on the peer being off gets ready while it is fenced.
    if (wants_group()) prepare_from(0, "fencing " + peer_name() + " before taking over");
    bool reboot = config_.fencing.action == config::FenceAction::Reboot;
    if (!fence_.quiet)
        event(Level::Warning, "fence-request",
              "fencing " + peer_name() + (reboot ? " (reboot)" : " (power off)") + " before taking over: " + why);
}

void Engine::check_peer_off(const std::string& why) {
    if (fence_.op_id || now_.mono < fence_.next_attempt) return;
    fence_.op_id = next_op_id();
    fence_.action = FenceAction::Check;
    fence_.target_incarnation = 0;
    fence_.guard = now_.mono + ms(config_.fencing.timeout) + 5000;
    act(Fence{*fence_.op_id, peer_name(), FenceAction::Check, ms(config_.fencing.timeout),
              why + ": is it powered off?"});
}

void Engine::on_check(const FenceDone& in) {
    if (confirm_request_) {
        // confirm-fenced: the admin says the peer is off; a fencer that can read it says so too,
        // or the command is refused.
        uint64_t request = *confirm_request_;
        confirm_request_.reset();
        Reply reply{request, ReplyCode::Ok, ""};
        if (peer_up()) {
            reply = Reply{request, ReplyCode::Refused, peer_name() + " is alive and talking: confirm-fenced is only for a node that is down"};
        } else if (in.confirmed && in.power == Power::On) {
            reply = Reply{request, ReplyCode::Refused,
                          "the fencers read " + peer_name() + " as powered ON (" + in.reason + "): it is not off. "
                          "Power it off first (`veeam-hactl fence off " + peer_name() + " --yes`), or fix the "
                          "cluster links so that the nodes hear each other"};
        } else {
            fence_.target_incarnation = peer_.incarnation;
            peer_.fenced_by_admin = true;
            mark_peer_fenced("admin confirmed " + peer_name() + " is powered off (confirm-fenced" +
                             (in.confirmed ? ", read back: off)" : "; its power could not be read: " + in.reason + ")"));
            reply.text = "recorded: " + peer_name() + " is off; this node may now take over";
        }
        act(std::move(reply));
        return;
    }
    if (peer_.membership != Membership::Lost || peer_.incarnation != 0) return;  // heard meanwhile
    // Every few seconds again while the peer stays unheard: it may be powered off meanwhile.
    fence_.next_attempt = now_.mono + kCheckInterval;
    if (in.confirmed && in.power == Power::Off) {
        peer_.read_off = true;
        peer_.membership = Membership::Fenced;
        event(Level::Notice, "peer-off",
              peer_name() + ", not heard since this node started, is powered off (" + in.reason + ")");
        return;
    }
    // Reported once a minute: the state does not change while nobody acts.
    if (peer_on_reported_ >= 0 && now_.mono - peer_on_reported_ < 60000) return;
    peer_on_reported_ = now_.mono;
    if (in.confirmed)
        event(Level::Warning, "waiting-for-peer",
              "waiting for " + peer_name() + ": not heard since this node started, and the fencers read it as " +
                  to_string(in.power) + " (" + in.reason + "). A node never fences a peer it has not heard "
                  "since it started (that is how fence loops start). Fix the cluster links; or, if " +
                  peer_name() + " is dead, power it off (`veeam-hactl fence off " + peer_name() +
                  " --yes`) and this node takes over");
    else
        event(Level::Warning, "waiting-for-peer",
              "waiting for " + peer_name() + ": not heard since this node started, and its power cannot be read (" +
                  in.reason + "); this node starts the group only once " + peer_name() +
                  " is heard or read back as powered off");
}

uint64_t Engine::next_epoch_for(const std::string& node) const {
    uint64_t next = highest_epoch_seen() + 1;
    if (MUTANT(SharedEpochs)) return next;
    // By name, not by position in the configuration: the same on both nodes even if their
    // files list the nodes in another order.
    const std::string& other = node == local_name() ? peer_name() : local_name();
    uint64_t parity = node < other ? 0 : 1;
    return next % 2 == parity ? next : next + 1;
}

void Engine::acquire(Acquired via, uint64_t epoch, const std::string& why) {
    const std::string previous_owner = persisted_.owner;
    holding_ = true;
    acquired_via_ = via;
    grant_epoch_ = 0;
    move_away_ = false;
    if (confirm_request_) {  // its power check is dropped with the rest of the fencing
        act(Reply{*confirm_request_, ReplyCode::Ok, "nothing left to confirm: this node took the group meanwhile (" + why + ")"});
        confirm_request_.reset();
    }
    fence_ = FenceState{};
    ping_.reachable_ok = false;
    persisted_.epoch = epoch;
    persisted_.owner = local_name();
    persisted_.owner_boot_id = boot_id_;
    persist_now();  // rule 2: written before this step's actions, the first start among them
    if (MUTANT(PersistAfterStart)) persist_late_ = true;
    // A failover is timed from the last moment the peer was heard (the outage as this node
    // saw it); a handover from the moment this node got the grant. A cold start (nobody ran
    // the group before) is not a failover and is not recorded as one.
    bool failover = via == Acquired::Fence || via == Acquired::PeerOff || via == Acquired::AdminConfirm ||
                    via == Acquired::Unsafe;
    Millis heard = peer_last_heard();
    takeover_began_ = failover && heard >= 0 ? heard : now_.mono;
    takeover_since_ = failover && heard >= 0 ? peer_name() + " was last heard" : "it began";
    takeover_reason_ = why;
    record_failover_ = failover || via == Acquired::PeerLeft || previous_owner == peer_name();
    event(via == Acquired::Unsafe ? Level::Warning : Level::Notice, "takeover",
          "taking over the group at epoch " + std::to_string(epoch) + ": " + why);
}

void Engine::release(const std::string& why) {
    holding_ = false;
    acquired_via_ = Acquired::None;
    takeover_began_ = -1;
    // A fence confirmation is good for one takeover: to take the group again later this node
    // fences again (cheap when the peer is still off: an off VM confirms at once).
    if (peer_.membership == Membership::Fenced) {
        peer_.membership = Membership::Lost;
        peer_.lost_at = now_.mono;
        peer_.was_holding = false;
        peer_.fenced_by_admin = false;
        peer_.read_off = false;
    }
    event(Level::Notice, "release", "group stopped and released: " + why);
}

void Engine::resolve_double_holding() {
    if (!holding_ || !peer_holding()) return;
    // Both hold: only possible after a wrong confirm-fenced or startup_fencing: false. The lower
    // (epoch, rank) yields at once: rule 2, never fight.
    uint64_t mine = persisted_.epoch, theirs = peer_.state.epoch;
    bool yield = theirs > mine || (theirs == mine && !outranks_peer());
    if (!yield) return;
    holding_ = false;
    acquired_via_ = Acquired::None;
    persisted_.owner = peer_name();
    persisted_.epoch = std::max(persisted_.epoch, theirs);
    dirty_ = true;
    event(Level::Error, "split-brain",
          "both nodes held the group; " + peer_name() + " holds epoch " + std::to_string(theirs) +
              " (this node " + std::to_string(mine) + "): stopping everything here");
}

}  // namespace veeamha::engine

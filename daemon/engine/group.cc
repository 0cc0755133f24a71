// SPDX-License-Identifier: GPL-2.0-or-later
// The resource group: start in order, stop in reverse, one operation at a time; monitors;
// failures counted against policy.migration_threshold within policy.failure_timeout; a failed
// stop makes the node unclean and freezes it.
#include <algorithm>

#include "daemon/engine/engine.h"

namespace veeamha::engine {

bool Engine::probes_done() const {
    for (const auto& r : res_)
        if (r.op_id && r.probe) return false;
    return started_;
}

bool Engine::all_stopped() const {
    for (const auto& r : res_)
        if (r.state != ResourceState::Stopped || r.op_id || r.abandoned_op) return false;
    return true;
}

bool Engine::peer_may_be_active() const {
    if (!peer_up() || !peer_.have_state) return false;
    if (peer_.state.unclean) return true;
    for (ResourceState r : peer_.state.resources)
        if (r != ResourceState::Stopped) return true;
    return false;
}

bool Engine::any_foreign() const {
    for (const auto& r : res_)
        if (r.foreign && r.state != ResourceState::Stopped) return true;
    return false;
}

void Engine::check_abandoned() {
    for (size_t i = 0; i < res_.size(); ++i) {
        ResourceView& r = res_[i];
        if (!r.abandoned_op || r.abandoned_until < 0 || now_.mono < r.abandoned_until) continue;
        r.abandoned_until = -1;  // waited long enough; the call is still remembered
        r.state = ResourceState::StopFailed;
        record_error(i, "start", Outcome::TimedOut, "", "start abandoned at its deadline and still running");
        become_unclean("the start of " + config_.resources[i].name +
                       " left running at its deadline has not returned: it may still take effect "
                       "at any time, so it cannot be reported stopped");
    }
}

bool Engine::over_threshold() const {
    int threshold = config_.policy.migration_threshold;
    if (threshold <= 0) return false;
    for (const auto& f : persisted_.failures)
        if (static_cast<int>(f.size()) >= threshold) return true;
    return false;
}

void Engine::expire_failures() {
    const int64_t window = ms(config_.policy.failure_timeout);
    if (window <= 0) return;
    for (size_t i = 0; i < persisted_.failures.size(); ++i) {
        auto& f = persisted_.failures[i];
        // Failures are stamped with the wall clock (they must age across restarts). One from
        // the future means the clock was set back: it counts from now, or it would stick for
        // as long as the clock jumped.
        for (int64_t& at : f) {
            if (at > now_.wall) {
                at = now_.wall;
                dirty_ = true;
            }
        }
        auto keep = std::remove_if(f.begin(), f.end(),
                                   [&](int64_t at) { return now_.wall - at >= window; });
        if (keep != f.end()) {
            f.erase(keep, f.end());
            dirty_ = true;
            event(Level::Info, "failures-expired",
                  config_.resources[i].name + ": older failures expired (policy.failure_timeout " +
                      format_ms(window) + "), fail count now " + std::to_string(f.size()),
                  false);
        }
    }
}

void Engine::record_failure(size_t i, Op op, const std::string& why) {
    auto& f = persisted_.failures[i];
    f.push_back(now_.wall);
    dirty_ = true;
    int threshold = config_.policy.migration_threshold;
    bool over = threshold > 0 && static_cast<int>(f.size()) >= threshold;
    event(Level::Warning, "resource-failed",
          why + " (fail count " + std::to_string(f.size()) + "/" + std::to_string(threshold) +
              (over ? "; giving up on this node" + std::string(peer_eligible() ? ", handing over to " + peer_name() : "") + ")"
                    : "; restarting it here)"),
          true, int(i), op);
}

void Engine::start_probe(size_t i) {
    res_[i].state = ResourceState::Unknown;
    res_[i].probe = true;
    run(i, Op::Monitor, "probe");
}

void Engine::reprobe_all(const std::string& why) {
    bool any = false;
    for (size_t i = 0; i < res_.size(); ++i) {
        if (res_[i].op_id) continue;  // its running operation will tell
        start_probe(i);
        any = true;
    }
    if (any) event(Level::Info, "reprobe", "probing every resource again: " + why, false);
}

void Engine::prepare(size_t k, const std::string& why) {
    ResourceView& r = res_[k];
    if (r.state != ResourceState::Stopped || r.op_id || r.abandoned_op) return;
    if (r.prepared_at >= 0 && now_.mono - r.prepared_at < kPrepareRefresh) return;
    r.prepared_at = now_.mono;
    act(Prepare{k, why});
}

void Engine::prepare_from(size_t first, const std::string& why) {
    for (size_t k = first; k < res_.size(); ++k) prepare(k, why);
}

void Engine::prepare_for_handover() {
    // The peer hands the group over (a move, standby, failback, leaving) and will grant it to
    // this node: what it has stopped already can be got ready for here while it stops the rest.
    if (!peer_up() || !peer_.have_state || !peer_.state.yielding || holding_ || !eligible_self() || yielding())
        return;
    if (effective_maintenance() || peer_.state.resources.size() != res_.size()) return;
    for (size_t k = 0; k < res_.size(); ++k)
        if (peer_.state.resources[k] == ResourceState::Stopped)
            prepare(k, peer_name() + " has stopped it and is handing the group over");
}

Millis Engine::getting_ready_at() const {
    if (!peer_up() || holding_ || !eligible_self() || yielding() || effective_maintenance())
        return -1;
    const Millis last = peer_last_heard();
    if (last < 0) return -1;
    const Millis timeout = ms(config_.heartbeat.timeout);
    return last + std::max(timeout / 2, timeout - ms(config_.heartbeat.interval));
}

void Engine::prepare_for_loss() {
    // The peer has been silent on every link for all of heartbeat.timeout but its last interval
    // (four rounds missed at the defaults): if it stays silent it is lost and fenced, and this
    // node takes over. What a start can get ready without undoing anything (the ip kind's
    // duplicate-address check) begins now, so that it has run by the time the fence is
    // confirmed instead of after. If the peer is heard again nothing was claimed: the probes
    // change nobody's cache, and an answer to them (the peer still has the address) only
    // makes a later start probe afresh.
    const Millis at = getting_ready_at();
    if (at < 0 || now_.mono < at) return;
    prepare_from(0, peer_name() + " silent on all links for " + format_ms(now_.mono - peer_last_heard()));
}

void Engine::run(size_t i, Op op, const std::string& why) {
    ResourceView& r = res_[i];
    const config::Resource& rc = config_.resources[i];
    Run cmd;
    cmd.op_id = next_op_id();
    cmd.index = i;
    cmd.op = op;
    cmd.timeout = ms(op == Op::Start  ? rc.start_timeout
                     : op == Op::Stop ? rc.stop_timeout
                                      : rc.monitor_timeout);
    cmd.reason = why;
    r.prepared_at = -1;  // a start consumes the preparation; anything else ends it
    if (op == Op::Start) {
        r.state = ResourceState::Starting;
        r.foreign = false;
        cmd.peer_released_or_fenced = acquired_via_ != Acquired::None && acquired_via_ != Acquired::Adopted;
    } else if (op == Op::Stop) {
        r.state = ResourceState::Stopping;
        if (yielding() && peer_eligible() && !unclean_) cmd.hand_over_to = peer_name();
    }
    r.op_id = cmd.op_id;
    r.op = op;
    // The daemon enforces the deadline itself; this guard only covers a runtime that lost the
    // operation, so that the engine never waits forever.
    r.op_guard = now_.mono + cmd.timeout + 2000;
    if (op != Op::Monitor)
        event(Level::Info, op == Op::Start ? "resource-start" : "resource-stop",
              std::string(op == Op::Start ? "starting " : "stopping ") + rc.name + ": " + why, false, int(i));
    act(std::move(cmd));
}

void Engine::check_op_guards() {
    for (size_t i = 0; i < res_.size(); ++i) {
        ResourceView& r = res_[i];
        // A runtime that lost a start cannot say whether it is still running: assume it is.
        if (r.op_id && now_.mono >= r.op_guard)
            on(ResourceDone{*r.op_id, i, r.op, Outcome::TimedOut,
                            "no result from the daemon within the operation's timeout", r.op == Op::Start});
    }
    if (fence_.op_id && now_.mono >= fence_.guard)
        on(FenceDone{*fence_.op_id, false, Power::Unknown, "no result within fencing.timeout",
                     FenceFault::Unanswered});
    if (ping_.op_id && now_.mono >= ping_.guard)
        on(PingDone{*ping_.op_id, false, "no answer within policy.ping_timeout"});
}

bool Engine::group_target_started() const {
    return holding_ && wants_group() && !unclean_;
}

void Engine::drive_group() {
    if (!started_ || unclean_ || !probes_done() || !adoption_decided_) return;
    const size_t n = res_.size();
    // What the OS started at boot is stopped even in maintenance mode: this node never runs the
    // group after a reboot without acquiring it anew, and the peer may be running it.
    const bool maintenance = effective_maintenance() && !any_foreign();

    if (!maintenance && group_target_started()) {
        if (restart_from_) {
            // Recovery: stop from the top down to the failed resource, then start again.
            for (size_t j = n; j-- > *restart_from_;) {
                ResourceView& r = res_[j];
                if (r.op_id || r.abandoned_op) return;
                if (r.state != ResourceState::Stopped) {
                    run(j, Op::Stop, "restarting after " + config_.resources[*restart_from_].name + " failed");
                    return;
                }
            }
            restart_from_.reset();
        }
        for (size_t j = 0; j < n; ++j) {
            ResourceView& r = res_[j];
            if (r.state == ResourceState::Started && !r.op_id) continue;
            if (r.op_id) {
                if (r.op == Op::Monitor && r.state == ResourceState::Started) continue;
                return;  // wait for it
            }
            if (r.abandoned_op) return;  // an abandoned start may still land: wait for it
            if (r.state == ResourceState::Stopped) {
                // Nothing starts while the peer is alive and may have something of the group
                // active: unclean (a stop failed there: it is fenced first), or reporting a
                // resource not stopped (what its OS started at boot, a stop in progress).
                if (!MUTANT(IgnoreUncleanPeer) && peer_may_be_active()) return;
                prepare_from(j + 1, "waiting for " + config_.resources[j].name + " to start");
                run(j, Op::Start, acquired_via_ == Acquired::Adopted ? "completing the adopted group"
                                                                     : "group start in order");
            } else {
                run(j, Op::Stop, "cleaning up before starting it again");  // Failed or Unknown
            }
            return;
        }
        if (takeover_began_ >= 0 && group_state() == GroupState::Started) {
            if (record_failover_) {
                persisted_.last_failover =
                    FailoverRecord{now_.wall, takeover_reason_, now_.mono - takeover_began_};
                dirty_ = true;
            }
            event(Level::Notice, "group-started",
                  "group started on " + local_name() + " " +
                      format_ms(now_.mono - takeover_began_) + " after " + takeover_since_ + " (" +
                      takeover_reason_ + ")");
            takeover_began_ = -1;
        }
    } else if (!maintenance) {
        for (size_t j = n; j-- > 0;) {
            ResourceView& r = res_[j];
            if (r.op_id || r.abandoned_op) return;
            if (r.state != ResourceState::Stopped) {
                run(j, Op::Stop, holding_ ? "handing over or stopping the group"
                                          : "this node does not hold the group");
                return;
            }
        }
        restart_from_.reset();
        return;
    }

    // Monitors of running resources (also in maintenance mode, where they only report).
    for (size_t j = 0; j < n; ++j) {
        ResourceView& r = res_[j];
        if (!r.op_id && r.state == ResourceState::Started && r.next_monitor >= 0 &&
            now_.mono >= r.next_monitor)
            run(j, Op::Monitor, "monitor");
    }
}

}  // namespace veeamha::engine

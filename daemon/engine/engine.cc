// SPDX-License-Identifier: GPL-2.0-or-later
// Input dispatch, publication and persistence. The decisions live in peer.cc (membership),
// ownership.cc (who runs the group), group.cc (resources) and admin.cc.
#include "daemon/engine/engine.h"

#include <algorithm>

namespace veeamha::engine {

Engine::Engine(const config::Config& config, int local_index, EngineOptions options)
    : config_(config), local_idx_(local_index), peer_idx_(1 - local_index), options_(options) {
    for (const auto& n : config_.nodes) names_.push_back(n.name);
    res_.resize(config_.resources.size());
    peer_.heard.assign(config_.links(), -1);
    persisted_.failures.resize(config_.resources.size());
}

void Engine::reconfigure(const config::Config& config) { config::apply_live_settings(config_, config); }

Outputs Engine::step(Time now, const Input& input) {
    Outputs outputs;
    if (exited_) return outputs;
    out_ = &outputs;
    const Millis gap = now.mono - now_.mono;
    if (now.mono > now_.mono || !started_) now_ = now;
    if (started_ && gap >= std::max<Millis>(1500, ms(config_.heartbeat.timeout) * 3 / 2)) resumed(gap);
    if (!started_ && !std::holds_alternative<Started>(input)) {
        out_ = nullptr;
        return outputs;  // nothing is decided before the persisted state is known
    }
    std::visit([this](const auto& in) { on(in); }, input);
    if (!exited_) {
        reconcile();
        publish_if_changed();
    }
    // Whatever changed in this step is written before any of its actions is carried out (the
    // type says so: Outputs::persist). A planted bug may hold the write back one step.
    if (dirty_ && !(MUTANT(PersistAfterStart) && persist_late_)) {
        outputs.persist = persisted_;
        dirty_ = false;
    }
    persist_late_ = false;
    out_ = nullptr;
    return outputs;
}

void Engine::on(const Started& in) {
    if (started_) return;
    started_ = true;
    started_at_ = now_.mono;
    incarnation_ = in.incarnation;
    config_digest_ = in.config_digest;
    rng_.seed(in.seed);
    persisted_ = in.state;
    persisted_.failures.resize(config_.resources.size());
    owner_at_start_ = persisted_.owner;
    // A daemon restart finds the state of its own boot; after a reboot the state is older than
    // everything running here, which the OS started, not veeam-had (and a reboot ends an
    // unclean state: whatever failed to stop is gone).
    same_boot_ = !in.boot_id.empty() && in.state.boot_id == in.boot_id;
    if (!same_boot_) persisted_.unclean = false;
    unclean_ = persisted_.unclean;
    persisted_.boot_id = boot_id_ = in.boot_id;
    persist_now();
    event(Level::Notice, "start",
          "started as " + local_name() + (same_boot_ ? " (daemon restart" : " (after a reboot") +
              ", epoch " + std::to_string(persisted_.epoch) +
              (persisted_.owner.empty() ? ", no owner yet" : ", last owner " + persisted_.owner) +
              (persisted_.maintenance ? ", maintenance mode on" : "") +
              (persisted_.standby ? ", standby" : "") + (unclean_ ? ", UNCLEAN" : "") +
              "); probing resources",
          false);
    for (size_t i = 0; i < res_.size(); ++i) start_probe(i);
}

// This process did not run for `gap` (SIGSTOP, a paused VM, starved of CPU): what the peer
// sent meanwhile waits in the socket, seconds old, and may come from a process that has died
// since. It is not taken as contact (a node must not believe it heard a peer it never heard),
// and the peer gets a full heartbeat timeout from now to be heard afresh.
void Engine::resumed(Millis gap) {
    discard_until_ = now_.mono + ms(config_.heartbeat.interval);
    peer_.stale = peer_.have_state;
    if (peer_.membership == Membership::Up) {
        for (Millis& t : peer_.heard)
            if (t >= 0) t = now_.mono;
        if (peer_.channel_heard >= 0) peer_.channel_heard = now_.mono;
    } else if (peer_.membership == Membership::Unknown) {
        started_at_ = now_.mono;  // the startup grace begins again
    }
    event(Level::Warning, "resumed",
          "this process did not run for " + format_ms(gap) + " (paused, or starved of CPU): what " + peer_name() +
              " sent meanwhile is ignored, and it gets " + format_ms(ms(config_.heartbeat.timeout)) +
              " from now to be heard",
          false);
}

void Engine::on(const PeerStateIn& in) {
    if (now_.mono < discard_until_) return;  // the backlog of a pause
    if (is_dead_incarnation(in.incarnation) && !heard_ghost(in.incarnation)) return;
    if (in.incarnation != peer_.incarnation) peer_incarnation_changed(in.incarnation);
    if (in.link >= 0 && static_cast<size_t>(in.link) < peer_.heard.size())
        peer_.heard[in.link] = std::max(peer_.heard[in.link],
                                        in.arrived >= 0 ? std::min(in.arrived, now_.mono) : now_.mono);
    else
        peer_.channel_heard = now_.mono;
    if (peer_.have_state && (in.state.version < peer_.state.version ||
                             (in.state.version == peer_.state.version && !peer_.stale))) {
        update_membership();
        return;  // an older snapshot (reordered across links) or a duplicate
    }
    peer_.stale = false;
    const NodeState& s = in.state;
    if (s.config_digest != 0 && config_digest_ != 0 && s.config_digest != config_digest_ &&
        !warned_digest_) {
        warned_digest_ = true;
        event(Level::Warning, "config-mismatch",
              peer_name() + " runs with a different cluster configuration; make "
                            "/etc/veeam-ha.yaml the same on both nodes");
    }
    peer_.state = s;
    peer_.have_state = true;
    peer_max_epoch_ = std::max(peer_max_epoch_, s.epoch);
    // After a partition both sides may have set maintenance at the same version: on wins (it is
    // the state in which nothing is touched), so that both end with the same value.
    bool tie_on = !MUTANT(MaintenanceLastWriterWins) && s.maintenance_version == persisted_.maintenance_version &&
                  s.maintenance && !persisted_.maintenance;
    if (s.maintenance_version > persisted_.maintenance_version || tie_on) {
        persisted_.maintenance = s.maintenance;
        persisted_.maintenance_version = s.maintenance_version;
        dirty_ = true;
        event(Level::Notice, "maintenance",
              std::string("maintenance mode ") + (s.maintenance ? "on" : "off") + " (set on " +
                  peer_name() + ")");
        if (!s.maintenance) reprobe_all("maintenance mode ended");
    }
    // A passive node follows the holder's epoch, so that after a restart it knows who owned
    // the group last and never creates an epoch at or below one already used.
    if (!holding_ && s.holding && (s.epoch > persisted_.epoch || persisted_.owner != peer_name())) {
        persisted_.epoch = std::max(persisted_.epoch, s.epoch);
        persisted_.owner = peer_name();
        dirty_ = true;
    }
    if (s.leaving && !s.holding && peer_.membership != Membership::Left) {
        peer_.membership = Membership::Left;
        event(Level::Notice, "peer-left",
              peer_name() + " is shutting down cleanly with the group stopped (no fencing needed)");
    }
    update_membership();
}

void Engine::on(const ResourceDone& in) {
    if (in.index >= res_.size()) return;
    ResourceView& r = res_[in.index];
    if (!r.op_id || *r.op_id != in.op_id) return;  // abandoned (guard fired) or unknown
    r.op_id.reset();
    const config::Resource& rc = config_.resources[in.index];
    const std::string& name = rc.name;
    std::string why = in.reason.empty() ? "" : ": " + in.reason;
    switch (in.op) {
        case Op::Start:
            if (in.outcome == Outcome::Ok) {
                r.state = ResourceState::Started;
                r.next_monitor = now_.mono + ms(rc.monitor_interval);
                event(Level::Info, "resource-started", name + " started", false, int(in.index));
                break;
            }
            r.state = ResourceState::Failed;
            record_error(in.index, "start", in.outcome, in.reason, std::string("start ") + to_string(in.outcome) + why);
            if (in.still_running && !MUTANT(ForgetAbandonedStart)) {
                // The call may still take effect (a mount(2) that finishes its log recovery
                // later): until it returns, nothing is done to this resource, and a node that
                // cannot wait for it (it must not be reported stopped) is unclean.
                r.abandoned_op = in.op_id;
                r.abandoned_until = now_.mono + ms(rc.stop_timeout);
                event(Level::Warning, "start-abandoned",
                      "start of " + name + " left running at its deadline" + why + "; it may still take "
                      "effect: waiting up to " + format_ms(ms(rc.stop_timeout)) + " for it to return",
                      true, int(in.index));
            }
            record_failure(in.index, Op::Start, "start of " + name + " " + to_string(in.outcome) + why);
            break;
        case Op::Stop:
            if (in.outcome == Outcome::Ok || in.outcome == Outcome::NotRunning) {
                if (MUTANT(TrustStop)) {
                    r.state = ResourceState::Stopped;
                    break;
                }
                // A stop is believed only when a monitor then finds the resource not running
                // (an exec script or a unit may report success and leave it up).
                r.verify = true;
                run(in.index, Op::Monitor, "verify the stop");
                break;
            }
            r.state = ResourceState::StopFailed;
            record_error(in.index, "stop", in.outcome, in.reason, std::string("stop ") + to_string(in.outcome) + why);
            become_unclean("stop of " + name + " " + to_string(in.outcome) + why);
            break;
        case Op::Monitor: {
            bool probe = r.probe, verify = r.verify;
            r.probe = r.verify = false;
            if (verify) {
                // Stopped only if the monitor says nothing of it runs (failed or timed out:
                // something may still run; ok: the stop lied).
                if (in.outcome != Outcome::NotRunning) {
                    r.state = ResourceState::StopFailed;
                    record_error(in.index, "verify", in.outcome, in.reason,
                                 in.outcome == Outcome::Ok
                                     ? "stop reported success, but the resource still runs"
                                     : "stop not verified: the monitor after it " + std::string(to_string(in.outcome)) + why);
                    become_unclean(name + ": " + r.last_error);
                } else {
                    r.state = ResourceState::Stopped;
                    event(Level::Info, "resource-stopped", name + " stopped", false, int(in.index));
                }
                break;
            }
            if (probe) {
                r.state = in.outcome == Outcome::Ok           ? ResourceState::Started
                          : in.outcome == Outcome::NotRunning ? ResourceState::Stopped
                                                              : ResourceState::Failed;
                if (r.state == ResourceState::Failed)
                    record_error(in.index, "probe", in.outcome, in.reason, "probe " + std::string(to_string(in.outcome)) + why);
                if (r.state == ResourceState::Started)
                    r.next_monitor = now_.mono + ms(rc.monitor_interval);
                if (probes_done()) {
                    std::string running;
                    for (size_t i = 0; i < res_.size(); ++i)
                        if (res_[i].state == ResourceState::Started)
                            running += (running.empty() ? "" : ", ") + config_.resources[i].name;
                    event(Level::Info, "probed",
                          "probe done: " + (running.empty() ? std::string("nothing running here")
                                                            : "running here: " + running),
                          false);
                }
                break;
            }
            if (r.state != ResourceState::Started) break;  // a stop or restart overtook it
            if (in.outcome == Outcome::Ok) {
                r.next_monitor = now_.mono + ms(rc.monitor_interval);
            } else {
                r.state = ResourceState::Failed;
                record_error(in.index, "monitor", in.outcome, in.reason, std::string("monitor ") + to_string(in.outcome) + why);
                if (effective_maintenance()) {
                    event(Level::Warning, "monitor-failed",
                          name + " monitor " + to_string(in.outcome) + why +
                              " (maintenance mode: no recovery)", true, int(in.index));
                } else {
                    record_failure(in.index, Op::Monitor,
                                   "monitor of " + name + " " + to_string(in.outcome) + why);
                    if (!restart_from_ || *restart_from_ > in.index) restart_from_ = in.index;
                }
            }
            break;
        }
    }
}

void Engine::on(const AbandonedDone& in) {
    if (in.index >= res_.size()) return;
    ResourceView& r = res_[in.index];
    if (r.abandoned_op != in.op_id) return;
    r.abandoned_op.reset();
    r.abandoned_until = -1;
    event(Level::Notice, "abandoned-returned",
          "the abandoned start of " + config_.resources[in.index].name + " has returned" +
              (unclean_ ? "; `veeam-hactl cleanup` can now clear the unclean state" : "; probing it to learn what it did"),
          true, int(in.index));
    if (!r.op_id && !unclean_) start_probe(in.index);
}

void Engine::record_error(size_t index, const std::string& operation, Outcome outcome, const std::string& reason,
                          const std::string& text) {
    res_[index].last_error = text;
    res_[index].last_error_wall = now_.wall;
    auto same = [&](const FailedAction& a) { return a.index == index && a.operation == operation; };
    auto it = std::find_if(failed_actions_.begin(), failed_actions_.end(), same);
    uint32_t count = 1;
    if (it != failed_actions_.end()) {
        count = it->count + 1;
        failed_actions_.erase(it);  // the latest goes last
    }
    failed_actions_.push_back(FailedAction{index, operation, outcome, reason, now_.wall, count});
}

void Engine::become_unclean(const std::string& why) {
    if (unclean_) return;
    unclean_ = true;
    persisted_.unclean = true;
    persist_now();
    event(Level::Error, "unclean",
          why + "; this node is UNCLEAN: it stops acting and " + peer_name() +
              " must fence it before running the group (fix, then `veeam-hactl cleanup`)");
}

Millis fence_retry_delay(FenceFault fault, int answered_failures) {
    switch (fault) {
        case FenceFault::Unanswered: return 1000;
        case FenceFault::Refused: return std::min<Millis>(30000, 1000LL << std::clamp(answered_failures - 1, 0, 5));
        case FenceFault::BadCredentials: return 60000;
    }
    return 30000;
}

void Engine::on(const FenceDone& in) {
    if (power_on_op_ && *power_on_op_ == in.op_id) {
        power_on_op_.reset();
        if (in.confirmed)
            event(Level::Notice, "powered-on", peer_name() + " powered on again after the fence (" + in.reason + ")");
        else
            event(Level::Warning, "power-on-failed",
                  peer_name() + " is off but could not be powered on again (" + in.reason +
                      "); power it on by hand: `veeam-hactl fence on " + peer_name() + " --yes`");
        return;
    }
    if (!fence_.op_id || *fence_.op_id != in.op_id) return;
    fence_.op_id.reset();
    if (fence_.action == FenceAction::Check) {
        on_check(in);
        return;
    }
    if (in.confirmed) {
        fence_.attempts = 0;
        fence_.answered_failures = 0;
        fence_.reported_at = -1;
        fence_.quiet = false;
        peer_.fenced_by_admin = false;
        mark_peer_fenced("fence of " + peer_name() + " confirmed" +
                         (in.reason.empty() ? "" : " (" + in.reason + ")"));
        if (config_.fencing.action == config::FenceAction::Reboot) {
            // The second half of a reboot, once every process of the peer is known dead.
            power_on_op_ = next_op_id();
            act(Fence{*power_on_op_, peer_name(), FenceAction::On, ms(config_.fencing.timeout),
                      "fencing.action reboot: powering it on again"});
        }
        return;
    }
    ++fence_.attempts;
    Millis delay = fence_retry_delay(in.fault, in.fault == FenceFault::Unanswered ? 0 : ++fence_.answered_failures);
    delay += static_cast<Millis>(rng_() % (in.fault == FenceFault::Unanswered ? 500 : 250));  // jitter
    fence_.next_attempt = now_.mono + delay;
    // A fencer that does not answer is asked again every second or so: that is said once, then
    // when the reason changes and every 30 s, not every second. Every other failure is said.
    fence_.quiet = in.fault == FenceFault::Unanswered && fence_.reported_at >= 0 &&
                   in.reason == fence_.reported_reason && now_.mono - fence_.reported_at < 30000;
    if (fence_.quiet) return;
    fence_.reported_reason = in.reason;
    fence_.reported_at = now_.mono;
    event(Level::Error, "fence-failed",
          "fencing " + peer_name() + " failed (attempt " + std::to_string(fence_.attempts) + ", " +
              to_string(in.fault) + "): " + in.reason + "; NOT taking over; retrying in " + format_ms(delay) +
              (in.fault == FenceFault::BadCredentials
                   ? " (slowly: the fencing account must not be locked out by failed logins; fix the "
                     "credentials and reload, or fence by hand)"
                   : ""));
}

void Engine::on(const PingDone& in) {
    if (!ping_.op_id || *ping_.op_id != in.op_id) return;
    ping_.op_id.reset();
    if (in.reachable) {
        ping_.reachable_ok = true;
        if (ping_.reported_isolated) {
            // The cable just came back: the ping targets may answer before the peer's
            // heartbeats arrive (each side resolves the other by ARP again, and a kernel
            // retransmits an unanswered ARP request only every second), and fencing now would
            // kill a healthy active node (seen in the lab, 1 reconnect in 20). Give the peer
            // two heartbeat timeouts to be heard first, as at startup.
            Millis wait = 2 * ms(config_.heartbeat.timeout);
            bool lost = peer_.membership == Membership::Lost;
            if (lost) fence_.next_attempt = std::max(fence_.next_attempt, now_.mono + wait);
            event(Level::Notice, "isolation-ended",
                  "ping targets answer again" + (in.reason.empty() ? "" : ": " + in.reason) +
                      (lost ? "; waiting heartbeat.timeout " + format_ms(wait) + " to hear " + peer_name() +
                                  " before fencing it"
                            : ""));
        }
        ping_.reported_isolated = false;
        return;
    }
    ping_.retry_at = now_.mono + std::max<Millis>(1000, ms(config_.policy.ping_timeout));
    if (!ping_.reported_isolated) {
        ping_.reported_isolated = true;
        event(Level::Error, "isolated",
              "none of the ping targets answers (" + in.reason + "): this node is the isolated "
              "one; it will not fence " + peer_name() + " and will not take over");
    }
}

void Engine::on(const AdminCommand& in) {
    std::optional<Reply> r = admin(in);
    if (!r) return;  // answered later (confirm-fenced waits for its power check)
    r->request_id = in.request_id;
    act(std::move(*r));
}

void Engine::on(const Shutdown&) {
    if (shutting_down_) return;
    if (effective_maintenance()) {
        event(Level::Notice, "shutdown",
              "shutting down in maintenance mode: resources are left as they are");
        exited_ = true;
        persist_now();
        act(Exit{});
        return;
    }
    shutting_down_ = true;
    event(Level::Notice, "shutdown",
          holding_ ? "shutting down: stopping the group and handing it to " + peer_name() +
                         " if it can take it"
                   : "shutting down (not running the group)");
}

void Engine::reconcile() {
    check_op_guards();
    check_abandoned();
    expire_failures();
    update_membership();
    resolve_double_holding();
    decide_ownership();
    prepare_for_handover();
    prepare_for_loss();
    drive_group();

    if (shutting_down_ && !exited_) {
        // Unclean (a stop failed, even while still holding): nothing more can be done here;
        // the peer will fence this node whether it exits or not, so exit now.
        bool done_stopping = unclean_ || (!holding_ && all_stopped());
        if (done_stopping && shutdown_leave_by_ < 0) {
            // Leave now; wait a little for the peer to see it (so it takes over without
            // fencing), but never longer than two heartbeat timeouts.
            shutdown_leave_by_ = now_.mono + 2 * ms(config_.heartbeat.timeout);
        }
        bool peer_saw = peer_up() && peer_.have_state && peer_.state.holding;
        bool peer_gone = !peer_up();
        if (done_stopping && (peer_saw || peer_gone || now_.mono >= shutdown_leave_by_ || unclean_)) {
            event(Level::Notice, "exit",
                  unclean_ ? "exiting UNCLEAN: " + peer_name() + " will have to fence this node"
                           : "group stopped and released; exiting");
            exited_ = true;
            persist_now();
            publish_if_changed();
            act(Exit{});
        }
    }
}

void Engine::publish_if_changed() {
    NodeState s;
    s.epoch = std::max(persisted_.epoch, grant_epoch_);
    s.owner = holding_ ? local_name() : persisted_.owner;
    s.holding = holding_;
    s.grant_epoch = grant_epoch_;
    s.group = group_state();
    for (const auto& r : res_) s.resources.push_back(r.state);
    s.standby = persisted_.standby;
    s.unclean = unclean_;
    s.yielding = yielding();
    s.wants_group = wants_group();
    s.leaving = shutting_down_ && shutdown_leave_by_ >= 0 && !unclean_;
    s.maintenance = persisted_.maintenance;
    s.maintenance_version = persisted_.maintenance_version;
    s.config_digest = config_digest_;
    s.priority = config_.nodes[local_idx_].priority;
    s.version = published_.version;
    if (ever_published_ && s == published_) return;
    s.version = published_.version + 1;
    published_ = s;
    ever_published_ = true;
    act(Publish{s});
}

void Engine::event(Level level, std::string kind, std::string text, bool history, int resource, std::optional<Op> op) {
    if (history) {
        persisted_.history.push_back({now_.wall, kind, text});
        while (persisted_.history.size() > kHistoryLimit) persisted_.history.pop_front();
        dirty_ = true;
    }
    act(Event{level, std::move(kind), std::move(text), resource, op});
}

GroupState Engine::group_state() const {
    if (unclean_) return GroupState::Unclean;
    if (!probes_done()) return GroupState::Unknown;
    bool any_op = false, all_started = true, all_stopped_now = true, any_failed = false;
    bool stopping = false;
    for (const auto& r : res_) {
        if (r.op_id && !r.probe) {
            any_op = true;
            if (r.op == Op::Stop) stopping = true;
        }
        if (r.state != ResourceState::Started) all_started = false;
        if (r.state != ResourceState::Stopped) all_stopped_now = false;
        if (r.state == ResourceState::Failed) any_failed = true;
    }
    if (all_started && !res_.empty()) return GroupState::Started;
    if (all_stopped_now) return holding_ && over_threshold() ? GroupState::Failed : GroupState::Stopped;
    if (stopping) return GroupState::Stopping;
    if (any_op && holding_) return GroupState::Starting;
    if (any_failed && !holding_) return GroupState::Failed;
    return holding_ ? GroupState::Starting : GroupState::Stopping;
}

uint32_t Engine::fail_count(size_t index) const {
    return index < persisted_.failures.size()
               ? static_cast<uint32_t>(persisted_.failures[index].size())
               : 0;
}

std::string Engine::owner_name() const {
    if (holding_) return local_name();
    if (peer_up() && peer_.have_state && peer_.state.holding) return peer_name();
    return {};
}

bool Engine::effective_maintenance() const { return persisted_.maintenance; }

Millis Engine::next_wakeup() const {
    if (!started_ || exited_) return -1;
    Millis next = now_.mono + kQuietStep;
    auto consider = [&next](Millis t) {
        if (t >= 0 && t < next) next = t;
    };
    if (peer_up()) consider(peer_last_heard() + ms(config_.heartbeat.timeout));
    if (Millis ready = getting_ready_at(); ready > now_.mono) consider(ready);
    if (peer_.membership == Membership::Unknown)
        consider(started_at_ + 2 * ms(config_.heartbeat.timeout));  // update_membership's rule 3
    if (fence_.op_id) consider(fence_.guard);
    else if (fence_.next_attempt > now_.mono) consider(fence_.next_attempt);
    if (ping_.op_id) consider(ping_.guard);
    else if (ping_.retry_at > now_.mono) consider(ping_.retry_at);
    for (const auto& r : res_) {
        if (r.op_id) consider(r.op_guard);
        // A monitor already due and not running is held back (unclean, probes, a sequence in
        // progress); what releases it is an input, not time: waking for it would only spin.
        else if (r.state == ResourceState::Started && r.next_monitor > now_.mono) consider(r.next_monitor);
        if (r.abandoned_op && r.abandoned_until >= 0) consider(r.abandoned_until);
    }
    if (shutdown_leave_by_ >= 0) consider(shutdown_leave_by_);
    return next;
}

}  // namespace veeamha::engine

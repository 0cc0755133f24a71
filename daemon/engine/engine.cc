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
    if (now.mono > now_.mono || !started_) now_ = now;
    if (!started_ && !std::holds_alternative<Started>(input)) {
        out_ = nullptr;
        return outputs;  // nothing is decided before the persisted state is known
    }
    std::visit([this](const auto& in) { on(in); }, input);
    if (!exited_) {
        reconcile();
        if (dirty_) persist_now();
        publish_if_changed();
    }
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
    event(Level::Notice, "start",
          "started as " + local_name() + " (epoch " + std::to_string(persisted_.epoch) +
              (persisted_.owner.empty() ? ", no owner yet" : ", last owner " + persisted_.owner) +
              (persisted_.maintenance ? ", maintenance mode on" : "") +
              (persisted_.standby ? ", standby" : "") + "); probing resources",
          false);
    for (size_t i = 0; i < res_.size(); ++i) start_probe(i);
}

void Engine::on(const PeerStateIn& in) {
    if (is_dead_incarnation(in.incarnation)) return;  // fenced or replaced: a ghost
    if (in.incarnation != peer_.incarnation) peer_incarnation_changed(in.incarnation);
    if (in.link >= 0 && static_cast<size_t>(in.link) < peer_.heard.size())
        peer_.heard[in.link] = now_.mono;
    else
        peer_.channel_heard = now_.mono;
    if (peer_.have_state && in.state.version <= peer_.state.version) {
        update_membership();
        return;  // an older snapshot (reordered across links) or a duplicate
    }
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
    if (s.maintenance_version > persisted_.maintenance_version) {
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
    const std::string& name = config_.resources[in.index].name;
    std::string why = in.reason.empty() ? "" : ": " + in.reason;
    switch (in.op) {
        case Op::Start:
            if (in.outcome == Outcome::Ok) {
                r.state = ResourceState::Started;
                r.last_error.clear();
                r.next_monitor = now_.mono + ms(config_.resources[in.index].monitor_interval);
                event(Level::Info, "resource-started", name + " started", false);
            } else {
                r.state = ResourceState::Failed;
                r.last_error = std::string("start ") + to_string(in.outcome) + why;
                record_failure(in.index, "start of " + name + " " + to_string(in.outcome) + why);
            }
            break;
        case Op::Stop:
            if (in.outcome == Outcome::Ok || in.outcome == Outcome::NotRunning) {
                r.state = ResourceState::Stopped;
                event(Level::Info, "resource-stopped", name + " stopped", false);
            } else {
                r.state = ResourceState::StopFailed;
                r.last_error = std::string("stop ") + to_string(in.outcome) + why;
                if (!unclean_) {
                    unclean_ = true;
                    event(Level::Error, "unclean",
                          "stop of " + name + " " + to_string(in.outcome) + why +
                              "; this node is UNCLEAN: it stops acting and " + peer_name() +
                              " must fence it before running the group (fix, then `veeam-hactl "
                              "cleanup`)");
                }
            }
            break;
        case Op::Monitor: {
            bool probe = r.probe;
            r.probe = false;
            if (probe) {
                r.state = in.outcome == Outcome::Ok           ? ResourceState::Started
                          : in.outcome == Outcome::NotRunning ? ResourceState::Stopped
                                                              : ResourceState::Failed;
                if (r.state == ResourceState::Failed) r.last_error = "probe " + std::string(to_string(in.outcome)) + why;
                if (r.state == ResourceState::Started)
                    r.next_monitor = now_.mono + ms(config_.resources[in.index].monitor_interval);
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
                r.next_monitor = now_.mono + ms(config_.resources[in.index].monitor_interval);
            } else {
                r.state = ResourceState::Failed;
                r.last_error = std::string("monitor ") + to_string(in.outcome) + why;
                if (effective_maintenance()) {
                    event(Level::Warning, "monitor-failed",
                          name + " monitor " + to_string(in.outcome) + why +
                              " (maintenance mode: no recovery)");
                } else {
                    record_failure(in.index,
                                   "monitor of " + name + " " + to_string(in.outcome) + why);
                    if (!restart_from_ || *restart_from_ > in.index) restart_from_ = in.index;
                }
            }
            break;
        }
    }
}

void Engine::on(const FenceDone& in) {
    if (!fence_.op_id || *fence_.op_id != in.op_id) return;
    fence_.op_id.reset();
    if (in.confirmed) {
        fence_.attempts = 0;
        peer_.fenced_by_admin = false;
        mark_peer_fenced("fence of " + peer_name() + " confirmed" +
                         (in.reason.empty() ? "" : " (" + in.reason + ")"));
        return;
    }
    ++fence_.attempts;
    Millis backoff = std::min<Millis>(30000, 1000LL << std::min(fence_.attempts - 1, 5));
    backoff += static_cast<Millis>(rng_() % 250);  // jitter
    fence_.next_attempt = now_.mono + backoff;
    event(Level::Error, "fence-failed",
          "fencing " + peer_name() + " failed (attempt " + std::to_string(fence_.attempts) +
              "): " + in.reason + "; NOT taking over; retrying in " +
              format_ms(backoff));
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
    Reply r = admin(in);
    r.request_id = in.request_id;
    out_->push_back(std::move(r));
}

void Engine::on(const Shutdown&) {
    if (shutting_down_) return;
    if (effective_maintenance()) {
        event(Level::Notice, "shutdown",
              "shutting down in maintenance mode: resources are left as they are");
        exited_ = true;
        persist_now();
        out_->push_back(Exit{});
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
    expire_failures();
    update_membership();
    resolve_double_holding();
    decide_ownership();
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
            out_->push_back(Exit{});
        }
    }
}

void Engine::persist_now() {
    dirty_ = false;
    out_->push_back(Persist{persisted_});
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
    s.version = published_.version;
    if (ever_published_ && s == published_) return;
    s.version = published_.version + 1;
    published_ = s;
    ever_published_ = true;
    out_->push_back(Publish{s});
}

void Engine::event(Level level, std::string kind, std::string text, bool history) {
    if (history) {
        persisted_.history.push_back({now_.wall, kind, text});
        while (persisted_.history.size() > kHistoryLimit) persisted_.history.pop_front();
        dirty_ = true;
    }
    out_->push_back(Event{level, std::move(kind), std::move(text)});
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
    Millis next = -1;
    auto consider = [&next](Millis t) {
        if (t >= 0 && (next < 0 || t < next)) next = t;
    };
    if (peer_up()) consider(peer_last_heard() + ms(config_.heartbeat.timeout));
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
    }
    if (shutdown_leave_by_ >= 0) consider(shutdown_leave_by_);
    return next;
}

}  // namespace veeamha::engine

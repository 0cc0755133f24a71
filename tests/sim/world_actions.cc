// SPDX-License-Identifier: GPL-2.0-or-later
// What the daemon does with each engine action, in the simulated world and with its faults:
// resource operations (that fail, hang, land late or lie), fences (that fail, hang, come back
// late or lie), pings, replies, events, exits; and the admin.
#include <algorithm>

#include "tests/sim/checker.h"
#include "tests/sim/world.h"

namespace veeamha::sim {

using namespace veeamha::engine;

void World::execute(int i, Action& out) {
    SimNode& n = nodes_[i];
    if (auto* p = std::get_if<Publish>(&out)) {
        n.published = p->state;
        n.have_published = true;
        if (p->state.leaving && !n.leaving_published) {
            n.leaving_published = true;
            n.left_at = now_;
        }
        send_state(i, true);
    } else if (auto* r = std::get_if<Run>(&out)) {
        run_resource(i, *r);
    } else if (auto* prep = std::get_if<Prepare>(&out)) {
        counters_["prepare"]++;  // nothing in the simulated world needs getting ready
        n.prepared_at[prep->index] = now_;
    } else if (auto* f = std::get_if<Fence>(&out)) {
        run_fence(i, *f);
    } else if (auto* ping = std::get_if<Ping>(&out)) {
        schedule(now_ + opt_.ping_latency,
                 PingFinish{i, n.daemon_epoch,
                            PingDone{ping->op_id, n.uplink, n.uplink ? "10.9.9.9 answered" : "10.9.9.9: no answer"}});
    } else if (auto* reply = std::get_if<Reply>(&out)) {
        replies_.push_back(*reply);
        // A confirm-fenced for a node that runs, accepted: the engine acts on it in this step.
        if (reply->request_id == false_confirm_request_ && reply->code == ReplyCode::Ok && nodes_[1 - i].powered &&
            unsafe_since < 0)
            unsafe_since = now_;
    } else if (auto* e = std::get_if<engine::Event>(&out)) {
        counters_["event:" + e->kind]++;
        if (e->op) counters_["op-of:" + e->kind + ":" + engine::to_string(*e->op)]++;
        note(name(i), e->kind + ": " + e->text);
    } else if (std::holds_alternative<Exit>(out)) {
        note(name(i), "daemon exits");
        n.daemon = false;
        n.engine.reset();
        n.daemon_epoch++;
    }
}

void World::run_resource(int i, const Run& run) {
    SimNode& n = nodes_[i];
    ResourceFaults& f = n.faults[run.index];
    Activity& a = n.res[run.index];
    OpDone done{i, n.daemon_epoch, n.power_cycle, ResourceDone{run.op_id, run.index, run.op, Outcome::Ok, ""}};
    Millis at = now_ + uniform(opt_.op_latency_min, opt_.op_latency_max);
    // The runtime reports a call that overran its deadline as TimedOut, left running.
    const Millis deadline = now_ + run.timeout + 500;
    auto leave_running = [&](bool landed_now) {
        ++n.stuck_calls;
        done.done.outcome = Outcome::TimedOut;
        done.done.reason = landed_now ? "start hung (simulated)" : "start blocked in the kernel (simulated)";
        done.done.still_running = true;
        at = deadline;
        // It returns later (having taken effect or not), or never.
        int fate = static_cast<int>(uniform(0, 9));
        bool lands = !landed_now && fate < 6;
        if (f.left_running_returns >= 0)
            schedule(deadline + f.left_running_returns,
                     LateLanding{i, n.power_cycle, run.index, !landed_now, n.daemon_epoch, run.op_id});
        else if (fate < 9)
            schedule(deadline + uniform(0, opt_.late_land_max),
                     LateLanding{i, n.power_cycle, run.index, lands, n.daemon_epoch, run.op_id});
    };
    switch (run.op) {
        case Op::Start: {
            n.start_asked_at[run.index] = now_;
            if (check_protocol) {
                std::string v = check_start(*this, i, run);
                if (!v.empty()) set_violation(v);
            }
            if (f.start_late > 0) {
                --f.start_late;
                disrupt(i);
                leave_running(false);
                break;
            }
            a = Activity{true, Origin::Engine, n.power_cycle};
            if (f.start_hang > 0) {
                --f.start_hang;
                disrupt(i);
                leave_running(true);
            } else if (f.start_fail > 0) {
                --f.start_fail;
                disrupt(i);
                done.done.outcome = Outcome::Failed;
                done.done.reason = "start failed (simulated)";
            }
            break;
        }
        case Op::Stop:
            if (f.stop_hang > 0) {
                --f.stop_hang;
                disrupt(i);
                done.done.outcome = Outcome::TimedOut;
                done.done.reason = "stop hung (simulated)";
                at = now_ + run.timeout;
            } else if (f.stop_fail > 0) {
                --f.stop_fail;
                disrupt(i);
                done.done.outcome = Outcome::Failed;
                done.done.reason = "stop failed (simulated)";
            } else if (f.stop_lies > 0) {
                --f.stop_lies;
                disrupt(i);  // reports success, leaves it up
            } else {
                done.deactivate = true;
            }
            break;
        case Op::Monitor:
            if (f.monitor_fail > 0) {
                --f.monitor_fail;
                disrupt(i);
                done.done.outcome = Outcome::Failed;
                done.done.reason = "monitor failed (simulated)";
            } else {
                done.done.outcome = Outcome::NotRunning;  // decided on arrival, see handle()
                done.done.reason = "?";
            }
            break;
    }
    schedule(at, done);
}

void World::handle(const OpDone& e) {
    SimNode& n = nodes_[e.node];
    if (!n.powered || n.power_cycle != e.power_cycle) return;
    ResourceDone done = e.done;
    if (e.deactivate) n.res[done.index] = Activity{};
    if (done.op == Op::Monitor && done.reason == "?") {
        done.outcome = n.res[done.index].active ? Outcome::Ok : Outcome::NotRunning;
        done.reason.clear();
    }
    if (n.daemon_epoch != e.daemon_epoch) return;  // the process that asked is gone
    step(e.node, done);
}

void World::handle(const LateLanding& e) {
    SimNode& n = nodes_[e.node];
    if (!n.powered || n.power_cycle != e.power_cycle) return;  // the call died with the machine
    if (e.lands) {
        n.res[e.index] = Activity{true, Origin::Engine, n.power_cycle};
        note(name(e.node), n.config.resources[e.index].name + ": a start left running has now taken effect");
    }
    --n.stuck_calls;
    if (n.daemon && n.daemon_epoch == e.daemon_epoch) step(e.node, AbandonedDone{e.op_id, e.index});
    if (n.stuck_calls == 0 && n.restart_when_unstuck) start_daemon(e.node);
}

void World::run_fence(int i, const Fence& f) {
    SimNode& n = nodes_[i];
    const int target = 1 - i;
    const bool check = f.action == FenceAction::Check;
    FenceFinish fin{i, n.daemon_epoch, FenceDone{f.op_id, false, Power::Unknown, ""}};
    Millis lat = uniform(opt_.fence_latency_min, opt_.fence_latency_max);
    if (f.action == FenceAction::On) {  // the second half of a reboot
        counters_["power-on"]++;
        if (!n.uplink || fencer_ == FencerMode::Fails || fencer_ == FencerMode::Hangs) {
            fin.done.reason = "PowerOnVM_Task failed (simulated)";
        } else {
            schedule(now_ + lat, FencePowerOn{target});
            fin.done.confirmed = true;
            fin.done.power = Power::On;
            fin.done.reason = "poweredOn read back (simulated)";
        }
        schedule(now_ + lat, fin);
        return;
    }
    counters_[check ? "power-check" : "fence-request"]++;
    if (!check) {
        if (check_protocol) {
            std::string v = check_fence_request(*this, i);
            if (!v.empty()) set_violation(v);
        }
        fences.push_back(FenceRecord{i, now_});
    }
    if (!n.uplink || !n.vcenter_route) {
        fin.done.reason = "vCenter unreachable (simulated)";
        fin.done.fault = FenceFault::Unanswered;
        schedule(now_ + std::min<Millis>(lat, f.timeout), fin);
        return;
    }
    const bool target_on = nodes_[target].powered;
    // A fencer that lies about a node that is off says the truth.
    const FencerMode mode = fencer_ == FencerMode::Lies && !target_on ? FencerMode::Works : fencer_;
    switch (mode) {
        case FencerMode::Works:
            if (check) {
                fin.done.confirmed = true;
                fin.done.power = target_on ? Power::On : Power::Off;
                fin.done.reason = target_on ? "poweredOn" : "poweredOff";
                fin.read_truly_off = !target_on;  // read now; the answer may be stale when it arrives
                schedule(now_ + lat, fin);
            } else {
                // The power-off lands, then its result: at once, or late (a slow task poll, a
                // vCenter that answers after a while).
                schedule(now_ + lat, FencePowerOff{i, target, fences.size() - 1});
                fin.done.confirmed = true;
                fin.done.power = Power::Off;
                fin.done.reason = "poweredOff read back (simulated)";
                schedule(now_ + lat + uniform(0, opt_.fence_report_late_max), fin);
            }
            break;
        case FencerMode::Fails:
            fin.done.reason = "PowerOffVM_Task failed (simulated)";
            schedule(now_ + lat, fin);
            break;
        case FencerMode::Hangs:
            fin.done.reason = "timed out waiting for the power-off task (simulated hang)";
            fin.done.fault = FenceFault::Unanswered;
            schedule(now_ + f.timeout, fin);
            if (!check && chance(0.5))
                schedule(now_ + uniform(0, f.timeout), FencePowerOff{i, target, fences.size() - 1});
            break;
        case FencerMode::Lies:
            // Says off; the peer keeps running (the wrong VM was powered off).
            fin.done.confirmed = true;
            fin.done.power = Power::Off;
            fin.done.reason = "poweredOff read back (simulated LIE: the peer still runs)";
            fin.lie = true;
            fin.check = check;
            fin.target_incarnation = n.engine->peer().incarnation;  // the process the engine means
            n.lied_fences++;  // what the start checks accept as the reason, once it is believed
            schedule(now_ + lat, fin);
            break;
    }
}

void World::handle(const FencePowerOff& e) {
    if (e.record < fences.size()) fences[e.record].confirmed = now_;
    nodes_[e.by].confirmed_fences++;  // also when it was off already: vCenter confirms that
    nodes_[e.target].fenced_at = now_;
    power_off(e.target, "fenced by " + name(e.by));
}

void World::handle(const FenceFinish& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    if (e.read_truly_off) n.off_reads++;
    const bool lie = e.lie && nodes_[1 - e.node].powered;
    const Millis unsafe_before = unsafe_since;
    if (lie && unsafe_since < 0) unsafe_since = now_;  // the engine may act on it in this step
    step(e.node, e.done);
    if (!lie) return;
    // Did the engine believe it (it may have stopped waiting for this answer)?
    bool believed = n.daemon && n.engine && n.daemon_epoch == e.daemon_epoch &&
                    n.engine->peer().membership == Membership::Fenced;
    if (!believed) {
        unsafe_since = unsafe_before;
        return;
    }
    note("world", "the fencer LIED to " + name(e.node) + ": " + name(1 - e.node) + " keeps running");
    // A process it says is dead (if it still runs): the engine must notice when it keeps
    // hearing it.
    const SimNode& peer = nodes_[1 - e.node];
    if (!e.check && e.target_incarnation != 0 && peer.daemon && peer.incarnation == e.target_incarnation) {
        lied_about_incarnation = e.target_incarnation;
        lie_told_to = e.node;
        lie_told_to_daemon = n.daemon_epoch;
        lie_heard_since = lie_heard_last = -1;
    }
}

void World::handle(const PingFinish& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    step(e.node, e.done);
}

void World::kill_resource(int i, size_t index) {
    if (!nodes_[i].res[index].active) return;
    nodes_[i].res[index] = Activity{};
    disrupt(i);
    note(name(i), nodes_[i].config.resources[index].name + " died");
}

std::string World::admin(int i, AdminVerb verb, const std::string& arg) {
    uint64_t id = ++admin_requests_;
    SimNode& n = nodes_[i];
    if (!n.daemon) return "error: daemon not running on " + name(i);
    disrupt(-1);
    // The checker needs to know what the admin said, and whether it was true, before the
    // engine acts on it.
    if (verb == AdminVerb::ConfirmFenced) {
        (nodes_[1 - i].powered ? n.admin_lies : n.admin_confirms)++;
        if (nodes_[1 - i].powered) false_confirm_request_ = id;
    }
    note(name(i), std::string("admin ") + to_string(verb) + (arg.empty() ? "" : " " + arg));
    auto answer = [&](int node) -> std::string {
        replies_.clear();
        step(node, AdminCommand{id, verb, arg});
        // Some answers come later (confirm-fenced reads the peer's power first).
        Millis limit = now_ + nodes_[node].config.fencing.timeout.count() + 6000;
        run_until(limit, [&] { return !replies_.empty() || !nodes_[node].daemon; });
        if (replies_.empty()) return "no reply";
        const Reply& r = replies_.back();
        return std::string(r.code == ReplyCode::Ok ? "ok: " : r.code == ReplyCode::Refused ? "refused: " : "not-here: ") + r.text;
    };
    std::string reply = answer(i);
    if (reply.rfind("not-here", 0) == 0) {
        // The daemon forwards it over the peer channel.
        int peer = 1 - i;
        bool channel = false;
        for (size_t l = 0; l < links_[0].size(); ++l)
            channel = channel || (link_usable(i, static_cast<int>(l)) && link_usable(peer, static_cast<int>(l)));
        if (!channel || !nodes_[peer].daemon) return "error: " + name(peer) + " unreachable";
        reply = answer(peer);
        i = peer;
    }
    if (verb == AdminVerb::ConfirmFenced && nodes_[1 - i].powered && reply.rfind("ok:", 0) == 0)
        note("world", "the admin's confirm-fenced was FALSE and was accepted: " + name(1 - i) + " runs");
    note(name(i), "reply: " + reply);
    if (violation_.empty()) violation_ = check_world(*this);
    return reply;
}

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/sim/random_run.h"

#include <functional>
#include <queue>

#include "tests/sim/checker.h"
#include "tests/sim/world.h"

namespace veeamha::sim {

using namespace veeamha::engine;

namespace {

struct Pending {
    Millis at;
    uint64_t seq;
    std::function<void()> action;
    bool operator>(const Pending& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

class Scheduler {
public:
    void at(Millis t, std::function<void()> f) { q_.push(Pending{t, ++seq_, std::move(f)}); }
    bool empty() const { return q_.empty(); }
    Millis next() const { return q_.top().at; }
    void run_next() {
        Pending p = q_.top();
        q_.pop();
        p.action();
    }
    void clear() { q_ = {}; }

private:
    std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> q_;
    uint64_t seq_ = 0;
};

// Longest the group may take to run somewhere once every fault is healed: boot, startup grace,
// fence delay, a hung fence and its guard, the longest fence backoff, fail counts expiring, and
// a full stop+start (+ a hung monitor) of every resource, plus margin.
Millis liveness_bound(const config::Config& c, Millis boot) {
    Millis b = boot + 2 * c.heartbeat.timeout.count() + c.fencing.delay.count() +
               c.fencing.timeout.count() + 5000 + 31000 + c.policy.failure_timeout.count() +
               2000 + c.policy.ping_timeout.count();
    for (const auto& r : c.resources)
        b += r.start_timeout.count() + r.stop_timeout.count() + r.monitor_timeout.count() + 4000;
    return b + 10000;
}

}  // namespace

RunResult run_seed(const RunOptions& ro) {
    RunResult result;
    std::mt19937_64 rng(ro.seed * 0x9E3779B97F4A7C15ULL + 17);
    auto pick = [&rng](uint64_t n) { return static_cast<int>(rng() % n); };
    auto between = [&rng](Millis lo, Millis hi) {
        return lo + static_cast<Millis>(rng() % static_cast<uint64_t>(hi - lo + 1));
    };

    bool failback = pick(10) == 0;
    config::Config cfg = sim_config(failback);
    if (pick(4) == 0) cfg.fencing.action = config::FenceAction::Reboot;
    if (pick(5) == 0) cfg.policy.ping_targets.clear();
    result.profile = std::string(failback ? "failback" : "sticky") +
                     (cfg.fencing.action == config::FenceAction::Reboot ? "+reboot" : "+off") +
                     (cfg.policy.ping_targets.empty() ? "+no-ping" : "");

    World::Options wo;
    wo.seed = rng();
    wo.trace = ro.trace;
    wo.keep_events = ro.trace;
    wo.engine.unsafe_takeover_on_timeout = ro.unsafe;
    World w(cfg, wo);
    if (!ro.check_protocol) w.check_starts = false;

    Scheduler sched;
    auto fault = [&](const std::string& kind) {
        result.faults[kind]++;
        if (ro.trace) w.note("world", "FAULT " + kind);
    };
    const int links = static_cast<int>(cfg.links());
    const size_t nres = cfg.resources.size();

    // Start: both at once, or one late (startup fencing, cold start alone).
    Millis t0 = between(0, 500), t1 = pick(4) == 0 ? between(3000, 12000) : between(0, 500);
    sched.at(t0, [&] { w.start_daemon(0); });
    sched.at(t1, [&] { w.start_daemon(1); });

    Millis next_fault = between(2000, 6000);
    auto inject = [&](Millis now) {
        int n = pick(2);
        switch (pick(17)) {
            case 0: {
                int l = pick(links);
                bool both = pick(2) == 0;
                fault(both ? "link-cut" : "link-cut-one-way");
                w.cut_link(l, both, n);
                sched.at(now + between(500, 8000), [&w, l] { w.heal_link(l); });
                break;
            }
            case 1:
                fault("partition");
                w.partition(true);
                sched.at(now + between(1000, 10000), [&w] { w.partition(false); });
                break;
            case 2: {
                fault("lossy-link");
                int l = pick(links);
                LinkDir d;
                d.loss = 0.05 * between(1, 10);
                d.duplicate = 0.1;
                d.delay_max = between(2, 150);
                w.set_link(n, l, d);
                sched.at(now + between(2000, 15000), [&w, l] { w.heal_link(l); });
                break;
            }
            case 3:
                fault("isolate-node");
                w.isolate(n, true);
                sched.at(now + between(2000, 12000), [&w, n] { w.isolate(n, false); });
                break;
            case 4:
                fault("crash");
                w.crash(n);
                sched.at(now + between(2000, 15000), [&w, n] { w.power_on(n); });
                break;
            case 5:
                fault("kill-daemon");
                w.kill_daemon(n);
                sched.at(now + between(200, 5000), [&w, n] { w.start_daemon(n); });
                break;
            case 6:
                fault("stop-daemon");
                w.stop_daemon(n);
                sched.at(now + between(1000, 8000), [&w, n] { w.start_daemon(n); });
                break;
            case 7:
            {
                bool fails = pick(2) == 0;
                fault(fails ? "fencer-fails" : "fencer-hangs");
                w.set_fencer(fails ? FencerMode::Fails : FencerMode::Hangs);
            }
                sched.at(now + between(3000, 20000), [&w] { w.set_fencer(FencerMode::Works); });
                break;
            case 8: fault("start-fails"); w.faults(n, pick(nres)).start_fail += 1 + pick(2); break;
            case 9: fault("start-hangs"); w.faults(n, pick(nres)).start_hang += 1; break;
            case 10: fault("stop-fails"); w.faults(n, pick(nres)).stop_fail += 1; break;
            case 11: fault("stop-hangs"); w.faults(n, pick(nres)).stop_hang += 1; break;
            case 12: fault("monitor-fails"); w.faults(n, pick(nres)).monitor_fail += 1; break;
            case 13: {
                fault("resource-dies");
                int runner = w.group_runner();
                if (runner >= 0) w.kill_resource(runner, pick(nres));
                break;
            }
            case 14: {
                int choice = pick(4);
                if (choice == 0) {
                    fault("admin-move");
                    w.admin(n, AdminVerb::Move);
                } else if (choice == 1) {
                    fault("admin-standby");
                    w.admin(n, AdminVerb::Standby);
                    sched.at(now + between(1000, 10000), [&w, n] { w.admin(n, AdminVerb::Unstandby); });
                } else if (choice == 2) {
                    fault("admin-maintenance");
                    w.admin(n, AdminVerb::MaintenanceOn);
                    sched.at(now + between(1000, 8000), [&w, n] { w.admin(n, AdminVerb::MaintenanceOff); });
                } else {
                    fault("admin-cleanup");
                    w.admin(n, AdminVerb::Cleanup);
                }
                break;
            }
            case 15:
                // An admin confirms a node off only when it really is off.
                if (!w.node(1 - n).powered) {
                    fault("admin-confirm-fenced");
                    w.admin(n, AdminVerb::ConfirmFenced, cfg.nodes[1 - n].name);
                }
                break;
            case 16:
                fault("fence-slow");
                w.set_fence_latency(2000, 9000);
                sched.at(now + between(5000, 20000), [&w] { w.set_fence_latency(100, 2000); });
                break;
        }
    };

    // ---- safety phase ----
    while (w.violation().empty()) {
        Millis next = next_fault;
        if (!sched.empty() && sched.next() < next) next = sched.next();
        if (next > ro.fault_phase) break;
        w.run_until(next);
        if (!w.violation().empty()) break;
        if (!sched.empty() && sched.next() <= next) {
            sched.run_next();
        } else {
            inject(next);
            next_fault = next + between(500, 5000);
        }
    }

    // ---- liveness phase: every fault healed, the admin puts things right ----
    if (w.violation().empty()) {
        w.run_until(ro.fault_phase);
        sched.clear();
        Millis healed = w.now();
        if (ro.trace) w.note("world", "HEAL: all faults removed");
        for (int l = 0; l < links; ++l) w.heal_link(l);
        w.set_fencer(FencerMode::Works);
        w.set_fence_latency(100, 2000);
        for (int n = 0; n < 2; ++n) {
            w.set_uplink(n, true);
            for (size_t i = 0; i < nres; ++i) w.faults(n, i) = ResourceFaults{};
            if (!w.node(n).powered) w.power_on(n);
            else if (!w.node(n).daemon) w.start_daemon(n);
        }
        // The admin: once daemons run, end maintenance and standby (an unclean node is left
        // to be fenced by the healthy one; both unclean is handled below).
        Millis admin_at = healed + 4000;
        w.run_until(admin_at);
        for (int n = 0; n < 2 && w.violation().empty(); ++n) {
            if (!w.node(n).daemon) continue;
            if (w.node(n).engine->maintenance()) w.admin(n, AdminVerb::MaintenanceOff);
            if (w.node(n).engine->persisted().standby) w.admin(n, AdminVerb::Unstandby);
        }
        // Running somewhere with no fence in flight (a fence issued before the heal may
        // still land and move the group once), then still running 5 s later.
        Millis bound = liveness_bound(cfg, 3000) + 4000;
        auto settled = [&w] {
            if (w.group_runner() < 0) return false;
            for (int n = 0; n < 2; ++n)
                if (w.node(n).daemon && w.node(n).engine->fence_in_flight()) return false;
            return true;
        };
        // A fence requested before the heal may still power a node off afterwards; if that
        // leaves both machines off, the admin powers them on (liveness needs one node up).
        // Likewise a machine left off while the group runs nowhere is powered on by the admin
        // after 10 s (with fencing.action off, a fenced node stays off until someone does).
        Millis off_since[2] = {-1, -1};
        auto run_settling = [&](Millis until) {
            while (w.violation().empty() && w.now() < until) {
                if (w.run_until(std::min(w.now() + 1000, until), settled)) return true;
                // Both stuck unclean (stops that hung before the heal): the admin cleans up.
                bool both_unclean = true;
                for (int n = 0; n < 2; ++n)
                    both_unclean = both_unclean && w.node(n).daemon && w.node(n).engine->unclean();
                if (both_unclean) {
                    w.admin(0, AdminVerb::Cleanup);
                    w.admin(1, AdminVerb::Cleanup);
                }
                for (int n = 0; n < 2; ++n) {
                    if (w.node(n).powered && !w.node(n).daemon) w.start_daemon(n);  // exited meanwhile
                    if (w.node(n).powered) { off_since[n] = -1; continue; }
                    if (off_since[n] < 0) off_since[n] = w.now();
                    bool both_off = !w.node(1 - n).powered;
                    if (both_off || w.now() - off_since[n] >= 10000) w.power_on(n);
                }
            }
            return settled();
        };
        bool up = false;
        while (w.violation().empty() && w.now() < healed + bound) {
            if (!run_settling(healed + bound)) break;
            int runner = w.group_runner();
            Millis since = w.now();
            w.run_until(std::min(since + 5000, healed + bound + 5000));
            if (w.group_runner() == runner) {
                up = true;
                result.recovered_after = since - healed;
                break;
            }
        }
        if (w.violation().empty() && !up) {
            std::string state;
            for (int n = 0; n < 2; ++n) {
                const SimNode& sn = w.node(n);
                state += " n" + std::to_string(n + 1) + "=" +
                         (!sn.powered ? "off" : !sn.daemon ? "no-daemon"
                          : std::string(sn.engine->holding() ? "holding/" : "passive/") +
                                to_string(sn.engine->group_state()) + "/peer-" +
                                to_string(sn.engine->peer().membership));
            }
            result.passed = false;
            result.violation = "INVARIANT 4 (liveness): group not running steadily " +
                               format_ms(bound) + " after every fault was healed;" + state;
        }
    }
    if (!w.violation().empty()) {
        result.passed = false;
        result.violation = w.violation();
    }
    for (const auto& [k, v] : w.counters())
        if (k.rfind("event:", 0) == 0) result.events[k.substr(6)] += v;
    if (ro.trace) result.timeline = w.trace_text();
    return result;
}

}  // namespace veeamha::sim

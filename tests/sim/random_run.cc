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
// fence delay, a hung fence and its guard, the longest fence backoff, the power checks of a
// never-heard peer, fail counts expiring, a start left running returning late, and a full
// stop (verified) and start of every resource, plus margin.
Millis liveness_bound(const config::Config& c, Millis boot, Millis late_land) {
    Millis b = boot + 2 * c.heartbeat.timeout.count() + c.fencing.delay.count() + c.fencing.timeout.count() + 5000 +
               31000 + c.policy.failure_timeout.count() + 2000 + c.policy.ping_timeout.count() +
               Engine::kCheckInterval + late_land;
    for (const auto& r : c.resources)
        b += r.start_timeout.count() + 2 * r.stop_timeout.count() + 2 * r.monitor_timeout.count() + 4000;
    return b + 10000;
}

struct Profile {
    std::vector<config::Config> configs;
    Millis boot_time = 3000;
    std::string text;
};

// The configuration of this seed (swarm testing): the variants an admin may really choose.
Profile draw_profile(std::mt19937_64& rng) {
    auto pick = [&rng](uint64_t n) { return static_cast<int>(rng() % n); };
    Profile p;
    bool failback = pick(10) == 0;
    config::Config c = sim_config(failback);
    p.text = failback ? "failback" : "sticky";
    if (pick(4) == 0) {
        for (auto& n : c.nodes) n.addresses.resize(1);
        p.text += "+1-link";
    }
    if (pick(7) == 0) {
        c.nodes[1].priority = c.nodes[0].priority;
        p.text += "+equal-priorities";
    }
    if (pick(3) == 0) {
        c.fencing.action = config::FenceAction::Reboot;
        p.text += "+reboot";
    }
    if (pick(7) == 0) {
        c.fencing.delay = config::Duration(100);  // shorter than a fence takes
        p.text += "+short-delay";
    }
    if (pick(5) == 0) {
        c.policy.ping_targets.clear();
        p.text += "+no-ping";
    }
    if (pick(25) == 0) {
        c.policy.startup_fencing = false;
        p.text += "+no-startup-fencing";
    }
    static const Millis boots[] = {1000, 3000, 3000, 10000, 30000};
    p.boot_time = boots[pick(5)];
    p.configs = {c, c};
    if (pick(10) == 0) {
        // The two files differ (an admin edited one node only).
        config::Config& other = p.configs[1];
        switch (pick(3)) {
            case 0: std::swap(other.nodes[0].priority, other.nodes[1].priority); p.text += "+differ:priorities"; break;
            case 1: other.heartbeat.timeout = config::Duration(1600); p.text += "+differ:timeout"; break;
            default: other.fencing.delay = config::Duration(0); p.text += "+differ:delay"; break;
        }
    }
    return p;
}

}  // namespace

RunResult run_seed(const RunOptions& ro) {
    RunResult result;
    std::mt19937_64 rng(ro.seed * 0x9E3779B97F4A7C15ULL + 17);
    auto pick = [&rng](uint64_t n) { return static_cast<int>(rng() % n); };
    auto between = [&rng](Millis lo, Millis hi) {
        return lo + static_cast<Millis>(rng() % static_cast<uint64_t>(hi - lo + 1));
    };

    Profile profile = draw_profile(rng);
    const config::Config& cfg = profile.configs[0];
    result.profile = profile.text;

    World::Options wo;
    wo.seed = rng();
    wo.trace = ro.trace;
    wo.keep_events = ro.trace;
    wo.engine.mutant = ro.mutant;
    wo.boot_time = profile.boot_time;
    World w(profile.configs, wo);
    if (!ro.check_protocol) w.check_protocol = false;

    Scheduler sched;
    auto fault = [&](const std::string& kind) {
        result.faults[kind]++;
        if (ro.trace) w.note("world", "FAULT " + kind);
    };
    const int links = static_cast<int>(cfg.links());
    const size_t nres = cfg.resources.size();
    auto some_resources = [&] {
        std::vector<size_t> r;
        for (size_t i = 0; i < nres; ++i)
            if (pick(2) == 0) r.push_back(i);
        if (r.empty()) r.push_back(static_cast<size_t>(pick(nres)));
        return r;
    };

    // The nodes' wall clocks disagree (NTP off on one of them), in a third of the runs.
    if (pick(3) == 0)
        for (int n = 0; n < 2; ++n) w.node_mut(n).wall_offset = between(-600000, 600000);

    // Start: both at once, or one late (the other starts alone).
    Millis t0 = between(0, 500), t1 = pick(4) == 0 ? between(3000, 12000) : between(0, 500);
    sched.at(t0, [&] { w.start_daemon(0); });
    sched.at(t1, [&] { w.start_daemon(1); });

    // Every kind of fault the world knows, each drawn in or out of this run with a weight.
    using Inject = std::function<void(Millis now, int n)>;
    struct Kind {
        const char* name;
        int rarity;  // 1 in `rarity` runs uses it at all
        Inject inject;
    };
    const std::vector<Kind> kinds = {
        {"link-cut", 1, [&](Millis now, int n) {
             int l = pick(links);
             bool both = pick(2) == 0;
             fault(both ? "link-cut" : "link-cut-one-way");
             w.cut_link(l, both, n);
             sched.at(now + between(500, 8000), [&w, l] { w.heal_link(l); });
         }},
        {"partition", 1, [&](Millis now, int) {
             fault("partition");
             w.partition(true);
             sched.at(now + (pick(3) == 0 ? between(10000, 40000) : between(1000, 10000)), [&w] { w.partition(false); });
         }},
        {"lossy-link", 2, [&](Millis now, int n) {
             fault("lossy-link");
             int l = pick(links);
             LinkDir d;
             d.loss = 0.05 * static_cast<double>(between(1, 10));
             d.duplicate = 0.1;
             d.stale = pick(2) == 0 ? 0.05 : 0;  // datagrams seconds old
             d.delay_max = between(2, 150);
             w.set_link(n, l, d);
             sched.at(now + between(2000, 15000), [&w, l] { w.heal_link(l); });
         }},
        {"isolate-node", 2, [&](Millis now, int n) {
             fault("isolate-node");
             w.isolate(n, true);
             sched.at(now + between(2000, 12000), [&w, n] { w.isolate(n, false); });
         }},
        {"crash", 1, [&](Millis now, int n) {
             fault("crash");
             w.crash(n);
             sched.at(now + between(2000, 15000), [&w, n] { w.power_on(n); });
         }},
        {"crash-boots-with-group-active", 3, [&](Millis now, int n) {
             fault("crash-boots-with-group-active");
             w.crash(n);
             w.activate_at_next_boot(n, some_resources());
             sched.at(now + between(2000, 15000), [&w, n] { w.power_on(n); });
         }},
        {"crash-disk-rolled-back", 4, [&](Millis now, int n) {
             fault("crash-disk-rolled-back");
             w.crash(n);
             w.roll_back_disk_at_next_boot(n, static_cast<size_t>(between(1, 20)));
             sched.at(now + between(2000, 15000), [&w, n] { w.power_on(n); });
         }},
        {"crash-mid-step", 3, [&](Millis now, int n) {
             fault("crash-mid-step");
             w.arm_crash_mid_step(n);
             sched.at(now + between(3000, 15000), [&w, n] { w.power_on(n); });
         }},
        {"persist-fails", 3, [&](Millis, int n) {
             fault("persist-fails");
             w.arm_persist_failure(n);
         }},
        {"kill-daemon", 1, [&](Millis now, int n) {
             fault("kill-daemon");
             w.kill_daemon(n);
             sched.at(now + between(200, 5000), [&w, n] { w.start_daemon(n); });
         }},
        {"stop-daemon", 2, [&](Millis now, int n) {
             fault("stop-daemon");
             w.stop_daemon(n);
             sched.at(now + between(1000, 8000), [&w, n] { w.start_daemon(n); });
         }},
        {"pause", 2, [&](Millis, int n) {
             bool vm = pick(2) == 0;
             fault(vm ? "pause-vm" : "pause-process");
             w.pause(n, between(500, 6000), vm);
         }},
        {"wall-clock-jump", 3, [&](Millis, int n) {
             fault("wall-clock-jump");
             static const int64_t jumps[] = {-86400000, -600000, -60000, 60000, 600000, 86400000};
             w.jump_wall_clock(n, jumps[pick(6)]);
         }},
        {"fencer-fails", 1, [&](Millis now, int) {
             bool fails = pick(2) == 0;
             fault(fails ? "fencer-fails" : "fencer-hangs");
             w.set_fencer(fails ? FencerMode::Fails : FencerMode::Hangs);
             sched.at(now + between(3000, 20000), [&w] { w.set_fencer(FencerMode::Works); });
         }},
        {"fencer-lies", 10, [&](Millis now, int) {
             fault("fencer-lies");
             w.set_fencer(FencerMode::Lies);
             sched.at(now + between(1000, 8000), [&w] { w.set_fencer(FencerMode::Works); });
         }},
        {"fence-slow", 2, [&](Millis now, int) {
             bool late = pick(2) == 0;
             fault(late ? "fence-result-late" : "fence-slow");
             if (late) {
                 w.set_fence_report_late(between(1000, 8000));
                 sched.at(now + between(5000, 20000), [&w] { w.set_fence_report_late(0); });
             } else {
                 w.set_fence_latency(2000, 9000);
                 sched.at(now + between(5000, 20000), [&w] { w.set_fence_latency(100, 2000); });
             }
         }},
        {"uplink-lost", 3, [&](Millis now, int n) {
             fault("uplink-lost");
             w.set_uplink(n, false);
             sched.at(now + between(2000, 15000), [&w, n] { w.set_uplink(n, true); });
         }},
        {"channel-stall", 3, [&](Millis now, int) {
             fault("channel-stall");
             w.stall_channel(now + between(1000, 5000));
         }},
        {"resource-faults", 1, [&](Millis, int n) {
             size_t r = static_cast<size_t>(pick(nres));
             switch (pick(8)) {
                 case 0: fault("start-fails"); w.faults(n, r).start_fail += 1 + pick(2); break;
                 case 1: fault("start-hangs"); w.faults(n, r).start_hang += 1; break;
                 case 2: fault("start-lands-late"); w.faults(n, r).start_late += 1; break;
                 case 3: fault("stop-fails"); w.faults(n, r).stop_fail += 1; break;
                 case 4: fault("stop-hangs"); w.faults(n, r).stop_hang += 1; break;
                 case 5: fault("stop-lies"); w.faults(n, r).stop_lies += 1; break;
                 case 6: fault("monitor-fails"); w.faults(n, r).monitor_fail += 1; break;
                 default: {
                     fault("resource-dies");
                     int runner = w.group_runner();
                     if (runner >= 0) w.kill_resource(runner, r);
                 }
             }
         }},
        {"admin", 1, [&](Millis now, int n) {
             switch (pick(5)) {
                 case 0: fault("admin-move"); w.admin(n, AdminVerb::Move); break;
                 case 1:
                     fault("admin-standby");
                     w.admin(n, AdminVerb::Standby);
                     sched.at(now + between(1000, 10000), [&w, n] { w.admin(n, AdminVerb::Unstandby); });
                     break;
                 case 2:
                     fault("admin-maintenance");
                     w.admin(n, AdminVerb::MaintenanceOn);
                     sched.at(now + between(1000, 8000), [&w, n] { w.admin(n, AdminVerb::MaintenanceOff); });
                     break;
                 case 3:
                     // On at one node, off at the other: during a partition both reach the same
                     // version with different values.
                     fault("admin-maintenance-split");
                     w.admin(n, AdminVerb::MaintenanceOn);
                     sched.at(now + between(200, 3000), [&w, n] { w.admin(1 - n, AdminVerb::MaintenanceOff); });
                     break;
                 default: fault("admin-cleanup"); w.admin(n, AdminVerb::Cleanup);
             }
         }},
        {"admin-confirm-fenced", 2, [&](Millis, int n) {
             // Mostly for a node that is really off; now and then (the admin looked at the
             // wrong VM) for one that runs.
             if (w.node(1 - n).powered && pick(4) != 0) return;
             fault(w.node(1 - n).powered ? "admin-confirm-fenced-false" : "admin-confirm-fenced");
             w.admin(n, AdminVerb::ConfirmFenced, cfg.nodes[static_cast<size_t>(1 - n)].name);
         }},
    };
    std::vector<int> weight(kinds.size());
    int total = 0;
    for (size_t k = 0; k < kinds.size(); ++k) {
        weight[k] = pick(static_cast<uint64_t>(kinds[k].rarity)) == 0 ? between(1, 5) : 0;
        total += weight[k];
    }
    auto inject = [&](Millis now) {
        if (total == 0) return;
        int r = pick(static_cast<uint64_t>(total));
        size_t k = 0;
        while (r >= weight[k]) r -= weight[k++];
        kinds[k].inject(now, pick(2));
    };

    // ---- safety phase ----
    Millis next_fault = between(2000, 6000);
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
        w.set_fence_report_late(0);
        w.stall_channel(-1);
        for (int n = 0; n < 2; ++n) {
            w.set_uplink(n, true);
            w.activate_at_next_boot(n, {});
            w.node_mut(n).crash_armed = w.node_mut(n).persist_fail_armed = false;
            for (size_t i = 0; i < nres; ++i) w.faults(n, i) = ResourceFaults{};
            if (!w.node(n).powered) w.power_on(n);
            else if (!w.node(n).daemon) w.start_daemon(n);
        }
        // Both settings of maintenance agree once the nodes hear each other again, before the
        // admin touches anything.
        auto both_heard = [&w, healed] {
            for (int n = 0; n < 2; ++n) {
                const SimNode& sn = w.node(n);
                if (!sn.daemon || !sn.engine || w.now() < sn.paused_until || sn.heard_peer_at < healed + 1000 ||
                    sn.engine->peer().membership != Membership::Up || !sn.engine->peer().have_state)
                    return false;
            }
            return true;
        };
        if (w.run_until(healed + profile.boot_time + 8000, both_heard)) {
            w.run_until(w.now() + 1000);
            if (w.violation().empty()) {
                std::string v = check_converged(w);
                if (!v.empty()) w.set_violation(v);
            }
        }
        // The admin: once daemons run, ends maintenance and standby wherever a daemon says so
        // (again whenever one comes back with it; an unclean node is left to be fenced by the
        // healthy one; both unclean is handled below).
        w.run_until(std::max(w.now(), healed + 4000));
        auto admin_resets = [&w] {
            for (int n = 0; n < 2 && w.violation().empty(); ++n) {
                if (!w.node(n).daemon) continue;
                if (w.node(n).engine->maintenance()) w.admin(n, AdminVerb::MaintenanceOff);
                if (w.node(n).daemon && w.node(n).engine->persisted().standby) w.admin(n, AdminVerb::Unstandby);
            }
        };
        admin_resets();
        // Running somewhere with no fence in flight (a fence issued before the heal may
        // still land and move the group once), then still running 5 s later.
        Millis bound = liveness_bound(cfg, profile.boot_time, wo.late_land_max) + 4000;
        // ... and nothing active anywhere else (leftovers of a failed stop, what an OS started).
        auto settled = [&w] {
            int runner = w.group_runner();
            if (runner < 0 || w.any_active(1 - runner)) return false;
            for (int n = 0; n < 2; ++n)
                if (w.node(n).daemon && w.node(n).engine->fence_in_flight()) return false;
            return true;
        };
        // A fence requested before the heal may still power a node off afterwards; if that
        // leaves both machines off, the admin powers them on (liveness needs one node up).
        // Likewise a machine left off while the group runs nowhere is powered on by the admin
        // after 10 s (with fencing.action off, a fenced node stays off until someone does).
        // A machine whose daemon cannot start (a call stuck in the kernel forever) is rebooted
        // by the admin after 10 s: the peer, if it has not heard it since it started, waits for
        // it and says so.
        Millis off_since[2] = {-1, -1}, stuck_since[2] = {-1, -1};
        auto run_settling = [&](Millis until) {
            while (w.violation().empty() && w.now() < until) {
                if (w.run_until(std::min(w.now() + 1000, until), settled)) return true;
                admin_resets();
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
                    if (w.node(n).booted && !w.node(n).daemon) {
                        if (stuck_since[n] < 0) stuck_since[n] = w.now();
                        if (w.now() - stuck_since[n] >= 10000) {
                            w.crash(n);
                            w.power_on(n);
                            stuck_since[n] = -1;
                        }
                    } else {
                        stuck_since[n] = -1;
                    }
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
            result.violation = "INVARIANT 12 (liveness): group not running steadily " +
                               format_ms(bound) + " after every fault was healed;" + state;
        }
        if (w.violation().empty() && up) {
            std::string v = check_settled(w);
            if (!v.empty()) w.set_violation(v);
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

// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/sim/scenarios.h"

#include <fstream>
#include <functional>
#include <sstream>

#include "tests/sim/world.h"

namespace veeamha::sim {

using namespace veeamha::engine;
using veeamha::engine::Mutant;

namespace {

constexpr int N1 = 0, N2 = 1;

// A scripted run: fixed latencies, one seed, expectations collected with their reasons.
class Script {
public:
    explicit Script(config::Config cfg = sim_config(), Mutant mutant = Mutant::None)
        : cfg_(std::move(cfg)), w_(cfg_, options(mutant)) {}

    static World::Options options(Mutant mutant) {
        World::Options o;
        o.engine.mutant = mutant;
        o.seed = 1;
        o.op_latency_min = o.op_latency_max = 50;
        o.fence_latency_min = o.fence_latency_max = 300;
        o.ping_latency = 20;
        o.link_delay_min = o.link_delay_max = 1;
        o.boot_time = 3000;
        o.trace = o.keep_events = true;
        return o;
    }

    World& w() { return w_; }
    std::vector<std::string> failures;

    void expect(bool ok, const std::string& what) {
        if (!ok) failures.push_back(format_ms(w_.now()) + ": expected " + what);
    }
    // Runs until pred holds or `limit` ms from now; returns the time it took, or -1.
    Millis wait_for(const std::function<bool()>& pred, Millis limit, const std::string& what) {
        Millis start = w_.now();
        bool ok = w_.run_until(start + limit, pred);
        expect(ok, what + " within " + format_ms(limit));
        return ok ? w_.now() - start : -1;
    }
    void run_for(Millis ms) { w_.run_until(w_.now() + ms); }
    int runner() const { return w_.group_runner(); }
    bool runs_on(int n) const { return w_.group_runner() == n; }
    int count(const std::string& kind) { return w_.counters()["event:" + kind]; }
    // The node's daemon got resource i ready before it asked to start resource j.
    bool prepared_before(int node, size_t i, size_t j) const {
        const SimNode& n = w_.node(node);
        auto p = n.prepared_at.find(i), s = n.start_asked_at.find(j);
        return p != n.prepared_at.end() && s != n.start_asked_at.end() && p->second < s->second;
    }
    void mark(const std::string& text) { w_.note("scenario", text); }

    // Both daemons start; the preferred node n1 gets the group by a grant from n2.
    // Both daemons start; the group runs nowhere yet.
    void settle_nowhere() {
        w_.start_daemon(N1);
        w_.start_daemon(N2);
    }

    void settle() {
        w_.start_daemon(N1);
        w_.start_daemon(N2);
        Millis took = wait_for([this] { return runs_on(N1); }, 5000, "the group to start on n1");
        mark("cold start of both: group running on n1 after " + format_ms(took));
    }

private:
    config::Config cfg_;
    World w_;
};

using ScenarioFn = std::function<void(Script&)>;

struct Entry {
    const char* name;
    ScenarioFn run;
    std::function<void(config::Config&)> configure = nullptr;  // from sim_config()
};

void with_reboot(config::Config& c) { c.fencing.action = config::FenceAction::Reboot; }
void with_failback(config::Config& c) { c.policy.failback = true; }

// ---- the scenarios ----

void crash_of_active(Script& s) {
    s.settle();
    s.run_for(5000);
    s.w().crash(N1);
    const Millis crashed = s.w().now();
    const std::string n2_wakes = "wake:" + std::to_string(N2);
    const int wakes = s.w().counters()[n2_wakes];
    s.wait_for([&] { return s.w().node(N2).engine->peer().membership == Membership::Lost; }, 2000, "n2 to call n1 lost");
    const Millis lost = s.w().now();
    // Woken to get ready and to call n1 lost, and for nothing else: a deadline that stayed in
    // the past would wake it every millisecond.
    s.expect(s.w().counters()[n2_wakes] - wakes <= 3, "n2 woken at most 3 times between the crash and the loss");
    s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to take over");
    s.mark("crash of the active: group running on n2 " + format_ms(s.w().now() - crashed) + " after the crash");
    s.expect(s.w().node(N2).engine->acquired_via() == Acquired::Fence, "takeover by a confirmed fence");
    s.expect(s.count("fence-request") == 1, "exactly one fence request");
    const SimNode& n2 = s.w().node(N2);
    for (size_t i = 0; i < n2.res.size(); ++i) {
        s.expect(s.prepared_before(N2, i, 0), "every resource made ready before the group start");
        auto p = n2.prepared_at.find(i);
        s.expect(p != n2.prepared_at.end() && p->second > crashed && p->second < lost,
                 "resource " + std::to_string(i) + " made ready while n1 was silent, before it was called lost");
    }
}

void crash_of_passive(Script& s) {
    s.settle();
    s.run_for(5000);
    s.w().crash(N2);
    s.run_for(10000);
    s.expect(s.runs_on(N1), "the group to keep running on n1");
    s.expect(s.count("fence-request") == 0, "no fencing: the active never fences a lost passive");
    s.expect(s.w().node(N1).engine->peer().membership == Membership::Lost, "n2 reported lost");
    s.w().power_on(N2);
    s.wait_for([&] { return s.w().node(N1).engine->peer().membership == Membership::Up; }, 6000,
               "n2 to rejoin");
    s.run_for(2000);
    s.expect(s.runs_on(N1), "the group still on n1 after n2 rejoined");
}

void full_partition(Script& s) {
    s.settle();
    s.run_for(5000);
    s.w().partition(true);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 5000,
                             "the passive (reaching its ping targets) to fence and take over");
    s.mark("full partition, both alive: n2 runs the group " + format_ms(took) + " later");
    s.expect(!s.w().node(N1).powered, "n1 powered off by the fence");
    s.expect(s.count("fence-request") == 1, "exactly one fence (the active does not fence)");
    s.w().partition(false);
    s.run_for(3000);
    s.expect(s.runs_on(N2), "n2 still runs the group");
}

void passive_isolated(Script& s) {
    s.settle();
    s.run_for(5000);
    s.w().isolate(N2, true);
    s.run_for(15000);
    s.expect(s.count("fence-request") == 0, "no fence: the isolated passive cannot reach its ping targets");
    s.expect(s.count("isolated") == 1, "n2 to say it is the isolated one");
    s.expect(s.runs_on(N1) && s.w().node(N1).powered, "n1 to keep the group");
    s.w().isolate(N2, false);
    s.run_for(3000);
    s.expect(s.runs_on(N1), "n1 still runs the group after the cable is back");
    s.expect(s.w().node(N2).engine->peer().membership == Membership::Up, "n2 sees n1 again");
}

void active_isolated(Script& s) {
    s.settle();
    s.run_for(5000);
    s.w().isolate(N1, true);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to fence n1 and take over");
    s.mark("active isolated: n2 runs the group " + format_ms(took) + " after the cable was pulled");
    s.expect(!s.w().node(N1).powered, "n1 powered off by the fence");
}

void one_link_down(Script& s) {
    s.settle();
    s.run_for(2000);
    s.w().cut_link(0);
    s.run_for(20000);
    s.expect(s.count("peer-lost") == 0, "no peer-lost: link 1 still carries heartbeats");
    s.expect(s.count("fence-request") == 0, "no fence");
    s.expect(s.runs_on(N1), "the group stays on n1");
}

void flapping_link(Script& s) {
    s.settle();
    for (int i = 0; i < 30; ++i) {
        s.w().cut_link(i % 2);
        s.run_for(300);
        s.w().heal_link(i % 2);
        s.run_for(200);
    }
    s.run_for(3000);
    s.expect(s.count("peer-lost") == 0, "no peer-lost while one link is always up");
    s.expect(s.runs_on(N1), "the group stays on n1");
}

void asymmetric_loss(Script& s) {
    s.settle();
    LinkDir lossy;
    lossy.loss = 0.3;
    lossy.delay_min = 1;
    lossy.delay_max = 40;
    s.w().set_link(N1, 0, lossy);
    s.w().set_link(N1, 1, lossy);
    s.run_for(60000);
    s.expect(s.count("peer-lost") == 0, "no false peer-lost with 30% loss one way on both links");
    s.expect(s.runs_on(N1), "the group stays on n1");
}

void fence_fails_then_succeeds(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Fails);
    s.w().crash(N1);
    s.run_for(5000);
    s.expect(s.runner() < 0, "no takeover while fencing fails");
    s.expect(s.count("fence-failed") >= 2, "failed fences reported");
    s.w().set_fencer(FencerMode::Works);
    s.mark("vCenter works again");
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 10000, "takeover after the next fence attempt");
    s.mark("group running on n2 " + format_ms(took) + " after fencing recovered");
}

void fence_hangs(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Hangs);
    s.w().crash(N1);
    s.run_for(12000);
    s.expect(s.runner() < 0, "no takeover while the fence hangs (fencing.timeout 10s)");
    s.expect(s.count("fence-failed") == 1, "the hung fence reported failed at its timeout");
    s.w().set_fencer(FencerMode::Works);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 10000, "takeover after the retry");
    s.mark("group running on n2 " + format_ms(took) + " after the fencer recovered");
}

// The survivor's road to vCenter is cut while the active crashes (the lab's case): a fencer
// that does not answer is asked again every second or so, so the takeover follows within
// seconds of vCenter's return instead of a backoff of up to 30 s.
void vcenter_unreachable_then_back(Script& s) {
    s.settle();
    s.w().set_vcenter_route(N2, false);
    s.w().crash(N1);
    s.run_for(60000);
    s.expect(s.runner() < 0 && !s.w().any_active(N2), "no takeover while vCenter cannot be reached");
    s.expect(s.count("fence-failed") >= 2 && s.count("fence-failed") <= 4,
             "the unanswered attempts (one a second) are said once and then every 30 s");
    s.w().set_vcenter_route(N2, true);
    s.mark("vCenter reachable again");
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 2000, "group running on n2 within 2 s of vCenter's return");
    s.mark("group running on n2 " + format_ms(took) + " after vCenter returned");
}

void fence_always_fails(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Fails);
    s.w().crash(N1);
    s.run_for(120000);
    s.expect(s.runner() < 0 && !s.w().any_active(N2), "never a start on n2 without a confirmed fence");
    s.expect(s.count("fence-failed") >= 6, "repeated attempts, each alerting");
    s.mark("after 2 minutes: " + std::to_string(s.count("fence-failed")) + " failed fences, group down");
}

void monitor_failure_then_handover(Script& s) {
    s.settle();
    for (int i = 1; i <= 3; ++i) {
        s.run_for(4000);
        s.w().kill_resource(N1, 3);  // the service dies
        if (i < 3) {
            s.wait_for([&] { return s.runs_on(N1) && s.w().node(N1).res[3].active; }, 5000,
                       "local restart " + std::to_string(i) + " on n1");
        }
    }
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 8000, "handover to n2 after the third failure");
    s.mark("third failure of svc: group handed to n2 in " + format_ms(took));
    s.expect(s.w().node(N1).engine->fail_count(3) == 3, "svc fail count 3 on n1");
    s.expect(s.count("fence-request") == 0, "no fencing for a clean handover");
}

void stop_failure_unclean(Script& s) {
    s.settle();
    s.run_for(2000);
    s.w().faults(N1, 1).stop_fail = 1;  // umount of fs will fail
    s.w().admin(N1, AdminVerb::Move);
    s.wait_for([&] { return s.w().node(N1).engine && s.w().node(N1).engine->unclean(); }, 3000,
               "n1 to become unclean");
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to fence the unclean n1 and take over");
    s.mark("failed stop on n1: n2 runs the group " + format_ms(took) + " later");
    s.expect(!s.w().node(N1).powered, "n1 fenced");
}

void planned_move(Script& s) {
    s.settle();
    s.run_for(2000);
    Millis at = s.w().now();
    s.expect(s.w().admin(N2, AdminVerb::Move).rfind("ok", 0) == 0, "move accepted (forwarded from n2)");
    s.wait_for([&] { return s.runs_on(N2); }, 3000, "the group on n2");
    s.mark("planned move n1 -> n2 took " + format_ms(s.w().now() - at));
    s.expect(s.prepared_before(N2, 3, 0), "the last resource made ready while n1 stopped the group");
    s.run_for(2000);
    at = s.w().now();
    s.w().admin(N2, AdminVerb::Move);
    s.wait_for([&] { return s.runs_on(N1); }, 3000, "the group back on n1");
    s.mark("planned move n2 -> n1 took " + format_ms(s.w().now() - at));
    s.expect(s.count("fence-request") == 0, "no fencing for planned moves");
}

void standby_of_active(Script& s) {
    s.settle();
    s.w().admin(N1, AdminVerb::Standby);
    s.wait_for([&] { return s.runs_on(N2); }, 3000, "the group on n2 after standby of n1");
    s.w().admin(N1, AdminVerb::Unstandby);
    s.run_for(5000);
    s.expect(s.runs_on(N2), "no failback after unstandby");
    s.expect(s.count("fence-request") == 0, "no fencing");
}

void maintenance_mode(Script& s) {
    s.settle();
    s.w().admin(N2, AdminVerb::MaintenanceOn);
    s.run_for(100);
    s.expect(s.w().node(N1).engine->maintenance(), "maintenance reaches n1");
    s.w().kill_resource(N1, 3);
    s.run_for(5000);
    s.expect(!s.w().node(N1).res[3].active, "no recovery of the dead service in maintenance");
    s.w().partition(true);
    s.run_for(5000);
    s.expect(s.count("fence-request") == 0, "a lost peer is reported, not fenced, in maintenance");
    s.w().partition(false);
    s.w().kill_daemon(N1);  // upgrade: restart the daemon under maintenance
    s.run_for(500);
    s.w().start_daemon(N1);
    s.run_for(3000);
    s.expect(s.w().node(N1).engine->holding(), "the restarted daemon adopts the running group");
    s.expect(s.w().node(N1).res[0].active && s.w().node(N1).res[2].active, "resources left as they were");
    s.w().admin(N1, AdminVerb::MaintenanceOff);
    Millis took = s.wait_for([&] { return s.runs_on(N1); }, 5000, "the service restarted after maintenance");
    s.mark("maintenance off: service recovered in " + format_ms(took));
}

void cold_start_both(Script& s) {
    s.settle();
    s.expect(s.w().node(N1).engine->acquired_via() == Acquired::Grant, "n1 got the group by n2's grant");
    s.expect(s.count("fence-request") == 0, "no fencing when both see each other");
}

void cold_start_alone(Script& s) {
    s.w().crash(N1);  // n1's machine is off; n2 (the non-preferred node) boots alone
    s.w().start_daemon(N2);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 10000, "n2 to read n1 powered off and start alone");
    s.mark("cold start alone: n2 runs the group after " + format_ms(took) +
           " (startup grace 2s, then n1's power read back as off)");
    s.expect(s.w().node(N2).engine->acquired_via() == Acquired::PeerOff, "the takeover rests on n1 read as off");
    s.expect(s.count("fence-request") == 0, "nothing to fence: n1 is off");
}

// Both boot, the cluster links are down: neither may fence a peer it has never heard (that
// is how fence loops start), so both wait, saying why, until the links come back.
void cold_start_partitioned(Script& s) {
    s.w().partition(true);
    s.w().start_daemon(N1);
    s.w().start_daemon(N2);
    s.run_for(20000);
    s.expect(s.runner() < 0, "no node runs the group while neither has heard the other");
    s.expect(s.count("fence-request") == 0, "no fence of a node never heard");
    s.expect(s.count("waiting-for-peer") == 2, "both say what they wait for");
    s.w().partition(false);
    Millis took = s.wait_for([&] { return s.runs_on(N1); }, 5000, "the preferred n1 to get the group");
    s.mark("links back: group on n1 " + format_ms(took) + " later");
    s.expect(s.w().node(N1).engine->acquired_via() == Acquired::Grant, "by n2's grant");
}

void rebooted_node_rejoins_passive(Script& s) {
    s.settle();
    s.w().crash(N1);
    s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to take over");
    s.w().power_on(N1);
    s.wait_for([&] { return s.w().node(N1).daemon && s.w().node(N1).engine->probes_complete(); }, 6000,
               "n1 to boot");
    s.run_for(5000);
    s.expect(s.runs_on(N2), "the group stays on n2 (no failback)");
    s.expect(!s.w().node(N1).engine->holding(), "n1 passive");
}

void failback_true(Script& s) {
    s.settle();
    s.w().crash(N1);
    s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to take over");
    s.w().power_on(N1);
    Millis took = s.wait_for([&] { return s.runs_on(N1); }, 10000, "failback to the preferred n1");
    s.mark("failback: group back on n1 " + format_ms(took) + " after it was powered on");
    s.expect(s.count("fence-request") == 1, "failback is a clean handover (only the crash was fenced)");
}

void daemon_restart_keeps_group(Script& s) {
    s.settle();
    s.run_for(3000);
    int starts = s.count("resource-start");
    s.w().kill_daemon(N1);
    s.run_for(300);
    s.w().start_daemon(N1);
    s.run_for(5000);
    s.expect(s.runs_on(N1), "n1 still runs the group");
    s.expect(s.count("resource-start") == starts, "no resource restarted");
    s.expect(s.w().node(N1).engine->acquired_via() == Acquired::Adopted, "group adopted");
    s.expect(s.count("fence-request") == 0, "no fencing");
}

void confirm_fenced_by_admin(Script& s) {
    s.settle();
    std::string refused = s.w().admin(N2, AdminVerb::ConfirmFenced, "n1");
    s.expect(refused.rfind("refused", 0) == 0, "confirm-fenced refused while n1 is alive");
    s.w().set_fencer(FencerMode::Fails);  // vCenter down
    s.w().crash(N1);
    s.run_for(5000);
    s.expect(s.runner() < 0, "no takeover without a fence");
    s.w().admin(N2, AdminVerb::ConfirmFenced, "n1");
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 3000, "takeover after the admin's confirmation");
    s.mark("confirm-fenced: group on n2 " + format_ms(took) + " after the admin confirmed");
}

// An unclean node that is still up must be fenced (or fixed and cleaned up), never confirmed
// off by hand: the admin's word would let the peer start next to a failed stop.
void confirm_fenced_refused_for_live_unclean(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Fails);  // vCenter down
    s.w().faults(N1, 1).stop_fail = 1;
    s.w().admin(N1, AdminVerb::Move);
    s.wait_for([&] { return s.w().node(N1).engine && s.w().node(N1).engine->unclean(); }, 3000,
               "n1 to become unclean");
    s.run_for(500);
    std::string refused = s.w().admin(N2, AdminVerb::ConfirmFenced, "n1");
    s.expect(refused.rfind("refused", 0) == 0, "confirm-fenced refused while the unclean n1 is alive");
    s.expect(refused.find("veeam-hactl cleanup") != std::string::npos, "the refusal says what to do");
    s.run_for(3000);
    s.expect(!s.runs_on(N2) && s.w().node(N1).powered, "no start on n2 while n1 is up and unclean");
}

void sigterm_hands_over(Script& s) {
    s.settle();
    s.w().stop_daemon(N1);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 3000, "clean handover to n2");
    s.mark("SIGTERM on the active: group on n2 after " + format_ms(took));
    s.expect(s.count("fence-request") == 0, "no fencing for a clean shutdown");
    s.expect(!s.w().node(N1).daemon && s.w().node(N1).powered, "n1's daemon exited, machine up");
}

void sigterm_with_failing_stop(Script& s) {
    s.settle();
    s.w().faults(N1, 1).stop_fail = 1;  // the umount will fail during the shutdown
    s.w().stop_daemon(N1);
    s.wait_for([&] { return !s.w().node(N1).daemon; }, 3000, "n1's daemon to exit although unclean");
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to fence the unclean n1 and take over");
    s.mark("failed stop during SIGTERM: n1 exited unclean, n2 fenced it and runs the group " +
           format_ms(took) + " later");
    s.expect(!s.w().node(N1).powered, "n1 fenced");
}

// A heartbeat-only partition that lasts (a firewall reload drops the cluster port) while both
// nodes reach vCenter and their ping targets, with fencing.action reboot: the rebooted node
// cannot hear its peer and must not fence it back (the fence loop). One fence in two minutes.
void fence_loop_lasting_partition(Script& s) {
    s.settle();
    s.w().partition(true);
    s.wait_for([&] { return s.runs_on(N2); }, 6000, "n2 to fence n1 and take over");
    s.run_for(120000);
    s.expect(s.count("fence-request") == 1, "exactly one fence in two minutes of partition");
    s.expect(s.runs_on(N2), "n2 serves throughout");
    s.expect(s.w().node(N1).daemon && !s.w().node(N1).engine->holding(), "the rebooted n1 waits, passive");
    s.expect(s.count("waiting-for-peer") >= 1, "n1 says it waits for n2");
    s.w().partition(false);
    s.wait_for([&] { return s.w().node(N1).engine->peer().membership == Membership::Up; }, 3000, "n1 to hear n2");
    s.run_for(3000);
    s.expect(s.runs_on(N2) && s.count("fence-request") == 1, "n1 rejoins passive, no fence");
}

// The same with fencing.action off: the admin powers the fenced node on while the partition
// lasts; it waits for its peer instead of fencing it.
void fence_loop_powered_on_by_admin(Script& s) {
    s.settle();
    s.w().partition(true);
    s.wait_for([&] { return s.runs_on(N2); }, 6000, "n2 to fence n1 and take over");
    s.run_for(5000);
    s.w().power_on(N1);
    s.run_for(60000);
    s.expect(s.count("fence-request") == 1, "n1, powered on, does not fence n2");
    s.expect(s.runs_on(N2), "n2 serves throughout");
}

// A crashed active boots with part of the group already active (an fstab line, LVM
// autoactivation) while its peer runs the group, and its cable comes back only after its
// first probe: it does not adopt what the OS started, stops it, and says so.
void rebooted_with_group_active_by_os(Script& s) {
    s.settle();
    s.w().crash(N1);
    s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to take over");
    s.w().activate_at_next_boot(N1, {0, 1});
    s.w().isolate(N1, true);
    s.w().power_on(N1);
    s.wait_for([&] { return s.w().node(N1).daemon && s.w().node(N1).engine->probes_complete(); }, 6000, "n1 to boot and probe");
    s.expect(s.count("found-active-at-boot") == 1, "n1 reports what the OS started");
    s.wait_for([&] { return !s.w().any_active(N1); }, 3000, "n1 to stop what the OS started");
    s.mark("n1 stopped what the OS had started");
    s.w().isolate(N1, false);
    s.run_for(5000);
    s.expect(s.runs_on(N2), "n2 serves throughout");
    s.expect(!s.w().node(N1).engine->holding(), "n1 never claimed the group");
}

// After a reboot, the state file still says "owner: n1", and the OS started the whole group:
// n1 must not adopt it. It stops it, and gets the group anew (here by n2's grant).
void rebooted_node_does_not_adopt(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Fails);  // n2 cannot fence: it does not take over
    s.w().activate_at_next_boot(N1, {0, 1, 2, 3});
    s.w().crash(N1);
    s.w().power_on(N1);
    s.wait_for([&] { return s.runs_on(N1); }, 15000, "the group to run on n1 again");
    s.expect(s.w().node(N1).engine->acquired_via() == Acquired::Grant, "n1 got it anew, by a grant");
    s.expect(s.count("adopt") == 0 && s.count("found-active-at-boot") == 1, "nothing adopted after the reboot");
}

// A start left running at its deadline (a mount(2) still in log recovery) is waited for, not
// forgotten: the resource is never reported stopped while the call may still land.
void start_left_running(Script& s) {
    s.w().faults(N1, 1).start_late = 1;
    s.settle_nowhere();
    s.wait_for([&] { return s.runner() >= 0; }, 60000, "the group to run on one node");
    s.expect(s.count("start-abandoned") == 1, "the abandoned start is said");
    s.mark("group running on " + std::string(s.runs_on(N1) ? "n1" : "n2"));
}

// SIGTERM reaches the node taking the group over while its last start runs past its deadline:
// once that start lands and the group is whole there, the node hands it back. That move is the
// SIGTERM's doing, not a failback: the no-failback check counts what happened to a node since its
// takeover began, not since the group became whole there (two 1,000,000-seed runs found the
// SIGTERM, and an admin's move, forgotten: seeds 3942162115 and 3783239370).
void sigterm_during_takeover(Script& s) {
    s.settle();
    const size_t last = s.w().node(N2).config.resources.size() - 1;
    s.w().faults(N2, last).start_hang = 1;
    s.w().faults(N2, last).left_running_returns = 2000;
    s.w().admin(N1, AdminVerb::Move);
    s.wait_for([&] { return s.count("start-abandoned") == 1; }, 60000, "n2's last start to be left running");
    s.w().stop_daemon(N2);
    // Maintenance for a moment while the start hangs: when it ends, the reprobe finds the group
    // whole on n2, the start not returned yet.
    s.w().admin(N2, AdminVerb::MaintenanceOn);
    s.run_for(500);
    s.w().admin(N2, AdminVerb::MaintenanceOff);
    s.wait_for([&] { return s.count("abandoned-returned") == 1; }, 6000, "the hung start to return");
    Millis took = s.wait_for([&] { return s.runs_on(N1); }, 60000, "the group back on n1");
    s.mark("SIGTERM during n2's takeover: group back on n1 after " + format_ms(took));
    s.expect(!s.w().node(N2).daemon && s.w().node(N2).powered, "n2's daemon exited, machine up");
    s.expect(s.count("fence-request") == 0, "no fencing");
}

// The fence lies about n1, whose daemon had died, and n2 takes over; n1's daemon starts again in
// the same boot with the group still running there. It hears n2 hold the group and does not
// adopt: it stops what runs here.
void restart_after_lie_does_not_adopt(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Lies);
    s.w().kill_daemon(N1);
    s.wait_for([&] { return s.w().node(N2).engine->holding(); }, 6000, "n2 to take over on the lie");
    s.w().set_fencer(FencerMode::Works);
    s.run_for(1000);
    s.w().start_daemon(N1);
    s.wait_for([&] { return !s.w().any_active(N1); }, 5000, "n1 to stop what runs there");
    s.expect(s.count("adopt") == 0, "n1 adopts nothing while n2 holds the group");
    s.expect(!s.w().node(N1).engine->holding(), "n1 passive");
}

// A stop that reports success while the resource still runs is caught by the monitor after it.
void stop_reports_success_but_runs(Script& s) {
    s.settle();
    s.w().faults(N1, 3).stop_lies = 1;
    s.w().admin(N1, AdminVerb::Move);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 10000, "n2 to fence the unclean n1 and take over");
    s.mark("lying stop caught: n2 runs the group " + format_ms(took) + " after the move");
    s.expect(s.count("unclean") == 1, "n1 became unclean when its stop did not verify");
    s.expect(s.count("fence-request") == 1, "n1 fenced before n2 started");
}

// A fence that says "off" while the VM runs: once the deceived node hears the process again
// it says the fence lied, and the lower epoch yields.
void fence_lies_then_noticed(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Lies);
    s.w().partition(true);
    s.wait_for([&] { return s.runs_on(N2) || s.w().node(N2).engine->holding(); }, 8000, "n2 to take over on the lie");
    s.w().set_fencer(FencerMode::Works);
    s.run_for(2000);
    s.w().partition(false);
    s.wait_for([&] { return s.count("fence-lied") >= 1; }, 5000, "n2 to notice the lie");
    s.wait_for([&] { return s.runner() >= 0 && !(s.w().any_engine_active(N1) && s.w().any_engine_active(N2)); },
               20000, "one node to run the group, the other nothing");
    s.mark("the lie noticed and settled: group on " + std::string(s.runs_on(N1) ? "n1" : "n2"));
}

// Maintenance set on one side and cleared on the other during a partition: after healing
// both have it on (on wins a tie: it is the state in which nothing is touched).
void maintenance_split_converges(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Fails);  // no fencing during the partition
    s.w().partition(true);
    s.w().admin(N1, AdminVerb::MaintenanceOn);
    s.w().admin(N2, AdminVerb::MaintenanceOff);
    s.w().partition(false);
    s.run_for(3000);
    s.expect(s.w().node(N1).engine->maintenance() && s.w().node(N2).engine->maintenance(),
             "both nodes end with maintenance on");
}

// The admin's confirm-fenced is refused when the fencers read the node as powered on.
void confirm_fenced_refused_when_read_on(Script& s) {
    s.settle();
    s.w().admin(N2, AdminVerb::Standby);  // n2 does not want the group: it fences nobody
    s.w().partition(true);
    s.run_for(1500);
    std::string reply = s.w().admin(N2, AdminVerb::ConfirmFenced, "n1");
    s.expect(reply.rfind("refused", 0) == 0 && reply.find("powered ON") != std::string::npos,
             "confirm-fenced refused: n1 is read as powered on");
}

// An unclean node whose daemon restarts in the same boot is still unclean.
void daemon_restart_stays_unclean(Script& s) {
    s.settle();
    s.w().set_fencer(FencerMode::Fails);
    s.w().faults(N1, 1).stop_fail = 1;
    s.w().admin(N1, AdminVerb::Move);
    s.wait_for([&] { return s.w().node(N1).engine->unclean(); }, 5000, "n1 to become unclean");
    s.w().kill_daemon(N1);
    s.run_for(300);
    s.w().start_daemon(N1);
    s.wait_for([&] { return s.w().node(N1).engine->probes_complete(); }, 5000, "n1's daemon to start");
    s.expect(s.w().node(N1).engine->unclean(), "n1 still unclean after its daemon restarted");
    s.run_for(5000);
    s.expect(s.runner() < 0, "n2 does not start while n1 is unclean and cannot be fenced");
}

const std::vector<Entry>& entries() {
    static const std::vector<Entry> all = {
        {"crash-of-active", crash_of_active},
        {"crash-of-passive", crash_of_passive},
        {"full-partition", full_partition},
        {"passive-isolated", passive_isolated},
        {"active-isolated", active_isolated},
        {"one-link-down", one_link_down},
        {"flapping-link", flapping_link},
        {"asymmetric-loss", asymmetric_loss},
        {"fence-fails-then-succeeds", fence_fails_then_succeeds},
        {"fence-hangs", fence_hangs},
        {"fence-always-fails", fence_always_fails},
        {"monitor-failure-then-handover", monitor_failure_then_handover},
        {"stop-failure-unclean", stop_failure_unclean},
        {"planned-move", planned_move},
        {"standby-of-active", standby_of_active},
        {"maintenance-mode", maintenance_mode},
        {"cold-start-both", cold_start_both},
        {"cold-start-alone", cold_start_alone},
        {"cold-start-partitioned", cold_start_partitioned},
        {"rebooted-node-rejoins-passive", rebooted_node_rejoins_passive},
        {"failback-true", failback_true, with_failback},
        {"daemon-restart-keeps-group", daemon_restart_keeps_group},
        {"confirm-fenced-by-admin", confirm_fenced_by_admin},
        {"confirm-fenced-refused-for-live-unclean", confirm_fenced_refused_for_live_unclean},
        {"sigterm-hands-over", sigterm_hands_over},
        {"sigterm-with-failing-stop", sigterm_with_failing_stop},
        {"sigterm-during-takeover", sigterm_during_takeover},
        {"fence-loop-lasting-partition", fence_loop_lasting_partition, with_reboot},
        {"fence-loop-powered-on-by-admin", fence_loop_powered_on_by_admin},
        {"rebooted-with-group-active-by-os", rebooted_with_group_active_by_os},
        {"rebooted-node-does-not-adopt", rebooted_node_does_not_adopt},
        {"start-left-running", start_left_running},
        {"stop-reports-success-but-runs", stop_reports_success_but_runs},
        {"fence-lies-then-noticed", fence_lies_then_noticed},
        {"maintenance-split-converges", maintenance_split_converges},
        {"confirm-fenced-refused-when-read-on", confirm_fenced_refused_when_read_on},
        {"daemon-restart-stays-unclean", daemon_restart_stays_unclean},
        {"restart-after-lie-does-not-adopt", restart_after_lie_does_not_adopt},
        {"vcenter-unreachable-then-back", vcenter_unreachable_then_back},
    };
    return all;
}

// The timeline without the noise of periodic monitors.
std::string timeline_of(const World& w) {
    std::ostringstream out;
    for (const auto& t : w.trace()) {
        if (t.text.rfind("resource-start:", 0) == 0 || t.text.rfind("resource-stop:", 0) == 0)
            continue;  // the *-started/-stopped lines say the same with the result
        out << format_ms(t.at) << "\t" << t.who << "\t" << t.text << "\n";
    }
    return out.str();
}

std::string first_difference(const std::string& want, const std::string& got) {
    std::istringstream a(want), b(got);
    std::string la, lb;
    for (int line = 1;; ++line) {
        bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
        if (!ha && !hb) return {};
        if (!ha || !hb || la != lb)
            return "line " + std::to_string(line) + ":\n  golden: " + (ha ? la : "<end>") +
                   "\n  now:    " + (hb ? lb : "<end>");
    }
}

}  // namespace

std::vector<std::string> scenario_names() {
    std::vector<std::string> names;
    for (const auto& e : entries()) names.push_back(e.name);
    return names;
}

ScenarioResult run_scenario(const std::string& name, const std::string& golden_dir, bool rewrite, Mutant mutant) {
    ScenarioResult r;
    r.name = name;
    const Entry* entry = nullptr;
    for (const auto& e : entries())
        if (name == e.name) entry = &e;
    if (!entry) {
        r.failures.push_back("no scenario named " + name);
        return r;
    }
    config::Config cfg = sim_config();
    if (entry->configure) entry->configure(cfg);
    Script s(cfg, mutant);
    entry->run(s);
    r.failures = s.failures;
    r.violation = s.w().violation();
    if (!r.violation.empty()) r.failures.push_back("violation: " + r.violation);
    r.timeline = timeline_of(s.w());

    if (golden_dir.empty()) return r;
    std::string path = golden_dir + "/" + name + ".timeline";
    if (rewrite) {
        std::ofstream(path) << r.timeline;
        return r;
    }
    std::ifstream in(path);
    if (!in) {
        r.golden_diff = "no golden file " + path + " (run veeam-ha-sim --scenarios --rewrite)";
        return r;
    }
    std::stringstream golden;
    golden << in.rdbuf();
    std::string diff = first_difference(golden.str(), r.timeline);
    if (!diff.empty()) r.golden_diff = path + " differs at " + diff;
    return r;
}

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/sim/scenarios.h"

#include <fstream>
#include <functional>
#include <sstream>

#include "tests/sim/world.h"

namespace veeamha::sim {

using namespace veeamha::engine;

namespace {

constexpr int N1 = 0, N2 = 1;

// A scripted run: fixed latencies, one seed, expectations collected with their reasons.
class Script {
public:
    explicit Script(config::Config cfg = sim_config()) : cfg_(std::move(cfg)), w_(cfg_, options()) {}

    static World::Options options() {
        World::Options o;
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
    void mark(const std::string& text) { w_.note("scenario", text); }

    // Both daemons start; the preferred node n1 gets the group by a grant from n2.
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
};

// ---- the scenarios ----

void crash_of_active(Script& s) {
    s.settle();
    s.run_for(5000);
    s.w().crash(N1);
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 5000, "n2 to take over");
    s.mark("crash of the active: group running on n2 " + format_ms(took) + " after the crash");
    s.expect(s.w().node(N2).engine->acquired_via() == Acquired::Fence, "takeover by a confirmed fence");
    s.expect(s.count("fence-request") == 1, "exactly one fence request");
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
            s.wait_for([&] { return s.runs_on(N1) && s.w().node(N1).active[3]; }, 5000,
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
    s.expect(!s.w().node(N1).active[3], "no recovery of the dead service in maintenance");
    s.w().partition(true);
    s.run_for(5000);
    s.expect(s.count("fence-request") == 0, "a lost peer is reported, not fenced, in maintenance");
    s.w().partition(false);
    s.w().kill_daemon(N1);  // upgrade: restart the daemon under maintenance
    s.run_for(500);
    s.w().start_daemon(N1);
    s.run_for(3000);
    s.expect(s.w().node(N1).engine->holding(), "the restarted daemon adopts the running group");
    s.expect(s.w().node(N1).active[0] && s.w().node(N1).active[2], "resources left as they were");
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
    Millis took = s.wait_for([&] { return s.runs_on(N2); }, 10000, "n2 to fence n1 and start alone");
    s.mark("cold start alone: n2 runs the group after " + format_ms(took) +
           " (startup grace 2s + fence_delay 2s + fence)");
    s.expect(s.count("fence-delay") == 1, "the non-preferred node waits fence_delay");
}

void cold_start_partitioned(Script& s) {
    s.w().partition(true);
    s.w().start_daemon(N1);
    s.w().start_daemon(N2);
    s.wait_for([&] { return s.runner() >= 0; }, 10000, "one node to run the group");
    s.run_for(3000);
    s.expect(s.runs_on(N1), "the preferred node wins the fence race");
    s.expect(!s.w().node(N2).powered, "n2 fenced by n1 while it waited fence_delay");
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
        {"failback-true", failback_true},
        {"daemon-restart-keeps-group", daemon_restart_keeps_group},
        {"confirm-fenced-by-admin", confirm_fenced_by_admin},
        {"confirm-fenced-refused-for-live-unclean", confirm_fenced_refused_for_live_unclean},
        {"sigterm-hands-over", sigterm_hands_over},
        {"sigterm-with-failing-stop", sigterm_with_failing_stop},
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

ScenarioResult run_scenario(const std::string& name, const std::string& golden_dir, bool rewrite) {
    ScenarioResult r;
    r.name = name;
    const Entry* entry = nullptr;
    for (const auto& e : entries())
        if (name == e.name) entry = &e;
    if (!entry) {
        r.failures.push_back("no scenario named " + name);
        return r;
    }
    config::Config cfg = sim_config(name == "failback-true");
    Script s(cfg);
    entry->run(s);
    r.failures = s.failures;
    if (!s.w().violation().empty()) r.failures.push_back("violation: " + s.w().violation());
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

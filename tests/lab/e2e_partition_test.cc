// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, part 2 (issue 7): the network and vCenter fail. Both cluster links cut with both
// hosts alive (the passive fences the active, never both running), the passive's cable pulled
// (it is the isolated one: no fence), the active's cable pulled (fenced and taken over), and
// vCenter unreachable during a crash (no takeover until a fence is confirmed) and at start (the
// fencing check reports it at once; a reload after the fix clears it).
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "tests/lab/e2e_checks.h"
#include "tests/lab/e2e_cluster.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;

TEST_CASE("e2e: both cluster links cut with both hosts alive: the passive fences the active",
          "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    c.lab().cut_heartbeat();  // UDP and TCP of port 5409 dropped on both links; the LAN works
    REQUIRE(c.wait_running_on(kN2, 20s));
    // The rules: n2 (passive) lost the active n1, could reach its ping target, fenced n1
    // through vCenter and took over; n1 (active) never fences a lost passive.
    CHECK(!c.lab().powered(kN1));
    CHECK(c.vcenter_power(kN1) == "off");
    CHECK(c.vcenter_power(kN2) == "on");
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(no_fencing(l1));
    CHECK(in_order(l2, {"peer-lost: n1 lost", "fence-request: fencing n1", "fenced: fence of n1 confirmed",
                        "takeover: taking over the group"}));
    REQUIRE(c.wait_more_acks(50, 20s));

    // Healed, n1 boots and joins as the passive.
    c.lab().heal_heartbeat();
    c.lab().power_on(kN1);
    REQUIRE(c.wait_settled(kN2, 20s));
    CHECK(c.running_on() == kN2);
    check_records_and_mounts(c);
}

TEST_CASE("e2e: the passive's cable pulled: it is the isolated one and does not fence",
          "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);
    const pid_t service = c.service_pid(kN1);

    c.lab().isolate(kN2);  // it reaches neither n1, nor the gateway (its ping target), nor vCenter
    REQUIRE(c.wait_log(kN2, "isolated: none of the ping targets answers", 10s, mark2));
    REQUIRE(c.wait_log(kN1, "peer-lost: n2 lost", 10s, mark1));
    // The active keeps serving; nobody is fenced.
    CHECK(Cluster::holds_for(3s, [&] { return c.running_on() == kN1; }));
    REQUIRE(c.wait_more_acks(50, 10s));
    CHECK(c.lab().powered(kN1));
    CHECK(c.lab().powered(kN2));
    CHECK(!c.truth(kN2).anything());

    c.lab().reconnect(kN2);
    REQUIRE(c.wait_settled(kN1, 20s));
    CHECK(Cluster::holds_for(2s, [&] { return c.running_on() == kN1; }));
    CHECK(c.service_pid(kN1) == service);  // never restarted
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(no_fencing(l1 + l2));
    CHECK(l2.find("takeover") == std::string::npos);
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.vcenter_power(kN2) == "on");
    REQUIRE(c.wait_more_acks(30, 10s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: the active's cable pulled: the passive fences it via vCenter and serves", "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark2 = c.log_mark(kN2);

    c.lab().isolate(kN1);
    REQUIRE(c.wait_running_on(kN2, 20s));
    CHECK(!c.lab().powered(kN1));
    CHECK(c.vcenter_power(kN1) == "off");
    std::string l2 = c.log_since(kN2, mark2);
    INFO(l2);
    CHECK(in_order(l2, {"peer-lost: n1 lost", "fence-request: fencing n1", "fenced: fence of n1 confirmed",
                        "takeover: taking over the group"}));
    REQUIRE(c.wait_more_acks(50, 20s));

    // Cable back, host booted: passive.
    c.lab().reconnect(kN1);
    c.lab().power_on(kN1);
    REQUIRE(c.wait_settled(kN2, 20s));
    CHECK(c.running_on() == kN2);
    check_records_and_mounts(c);
}

TEST_CASE("e2e: vCenter unreachable during a crash: no takeover until a fence is confirmed",
          "[e2e]") {
    ClusterOptions o;
    o.record_alerts = true;  // the admin's alert program must hear about the failed fence
    Cluster c(o);
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark2 = c.log_mark(kN2);

    c.lab().block_vcenter(true);
    c.lab().kill(kN1);
    const uint64_t n2_mounted = c.watcher().mounted_samples(1);
    // The fence cannot be confirmed (the call times out): n2 says so, loudly, and waits, asking
    // again every second or so (a vCenter that does not answer costs nothing to ask).
    REQUIRE(c.wait_log(kN2, "fence-failed: fencing n1 failed (attempt 1, unanswered)", 30s, mark2));
    CHECK(Cluster::holds_for(1500ms, [&] { return !c.truth(kN2).anything(); }));
    StatusView s2 = c.status(kN2);
    INFO(s2.error << s2.raw);
    CHECK(s2.ok);
    CHECK(s2.owner.empty());
    CHECK(s2.local_state == "passive");
    CHECK(s2.last_fence == "failed");  // the attempt is shown, not confirmed
    // A monitoring system hears it at once: nothing runs.
    auto critical = c.hactl(kN2, {"status", "--check"});
    INFO(critical.out);
    CHECK(critical.exit_code == 2);
    CHECK(critical.out.rfind("VEEAMHA CRITICAL - group not running, peer n1 ", 0) == 0);
    {
        std::string l2 = c.log_since(kN2, mark2);
        INFO(l2);
        CHECK(l2.find("NOT taking over") != std::string::npos);
        CHECK(l2.find("takeover") == std::string::npos);
        CHECK(l2.find("resource-start") == std::string::npos);
    }
    CHECK(!c.lab().vm_off(kN1));  // vCenter never powered it off
    // The alert program was run with the failure (after the fence request).
    REQUIRE(Cluster::eventually(5s, [&] { return c.alerts(kN2).find("fence-failed fencing n1 failed") != std::string::npos; }));
    CHECK(in_order(c.alerts(kN2), {"fence-request fencing n1", "fence-failed fencing n1 failed (attempt 1, unanswered)"}));
    CHECK(c.watcher().mounted_samples(1) == n2_mounted);  // n2 never mounted the disk meanwhile

    c.lab().block_vcenter(false);
    const auto back = std::chrono::steady_clock::now();
    REQUIRE(c.wait_running_on(kN2, 40s));
    WARN("group running on n2 "
         << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - back).count()
         << " ms after vCenter became reachable again");
    CHECK(c.vcenter_power(kN1) == "off");
    std::string l2 = c.log_since(kN2, mark2);
    INFO(l2);
    CHECK(in_order(l2, {"peer-lost: n1 lost", "fence-request: fencing n1", "fence-failed: fencing n1 failed",
                        "fenced: fence of n1 confirmed", "takeover: taking over the group"}));
    REQUIRE(Cluster::eventually(5s, [&] { return c.alerts(kN2).find("group-started") != std::string::npos; }));
    INFO("alerts on n2:\n" << c.alerts(kN2));
    CHECK(in_order(c.alerts(kN2), {"fence-failed", "fenced fence of n1 confirmed", "takeover", "group-started"}));
    REQUIRE(c.wait_more_acks(50, 20s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: vCenter unreachable at start: the fencing check says so at once, a reload after the fix clears it",
          "[e2e]") {
    ClusterOptions o;
    o.record_alerts = true;
    o.start_daemons = false;
    Cluster c(o);
    c.lab().block_vcenter(true);
    c.start_daemon(kN1);
    c.start_daemon(kN2);
    // The group starts anyway (both nodes are up: nothing needs a fence) ...
    REQUIRE(c.wait_running_on(kN1, 30s));
    c.start_writer();
    // ... and each node says at once that it could not fence its peer now.
    for (const std::string host : {kN1, kN2}) {
        const std::string peer = host == kN1 ? kN2 : kN1;
        INFO(host);
        REQUIRE(c.wait_log(host, "fencing-check: fencing check FAILED: " + peer + " could not be fenced now", 30s));
        StatusView s = c.status(host);
        INFO(s.error << s.raw);
        CHECK(s.fencing == "failing");
        CHECK(s.fencing_detail != "");
        CHECK_THAT(c.hactl(host, {"status"}).out, Catch::Contains("Fencing: FAILING"));
        REQUIRE(Cluster::eventually(5s, [&] { return c.alerts(host).find("fencing-check fencing check FAILED") != std::string::npos; }));
    }

    // Fixed (here: vCenter reachable again); a reload repeats the check without waiting 5 minutes.
    c.lab().block_vcenter(false);
    const size_t mark = c.log_mark(kN2);
    REQUIRE(::kill(c.daemon_pid(kN2), SIGHUP) == 0);
    REQUIRE(c.wait_log(kN2, "fencing check: n1 can be fenced", 20s, mark));
    StatusView s2 = c.status(kN2);
    INFO(s2.error << s2.raw);
    CHECK(s2.fencing == "ok");
    CHECK_THAT(c.hactl(kN2, {"status"}).out, Catch::Contains("Fencing: ok"));
    // A check only reads the power state: both VMs still on, the group where it was.
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.vcenter_power(kN2) == "on");
    CHECK(c.running_on() == kN1);
    CHECK(no_fencing(c.log(kN1)));
    CHECK(no_fencing(c.log(kN2)));
    REQUIRE(c.wait_more_acks(50, 10s));
    check_records_and_mounts(c);
}

// Not run by CTest (hidden tag): the passive isolated and reconnected many times in a row, to
// see whether it ever fences the healthy active after its cable comes back (the gateway may
// answer its ping before the active's heartbeats reach it). Run by hand:
//   build/tests/lab/e2e_test '[.isolation-cycles]'
TEST_CASE("e2e: the passive's cable pulled and plugged back many times: it never fences the active",
          "[.isolation-cycles]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    const size_t mark2 = c.log_mark(kN2);
    const char* env = std::getenv("E2E_CYCLES");
    const int cycles = env ? std::atoi(env) : 10;
    for (int i = 0; i < cycles; ++i) {
        INFO("cycle " << i);
        size_t m = c.log_mark(kN2);
        c.lab().isolate(kN2);
        REQUIRE(c.wait_log(kN2, "isolated: none of the ping targets answers", 10s, m));
        // Plug it back at a different moment relative to the ping retries (every 1.5 s) each time.
        std::this_thread::sleep_for(std::chrono::milliseconds(53 * (i % 29)));
        c.lab().reconnect(kN2);
        REQUIRE(c.wait_settled(kN1, 20s));
        REQUIRE(no_fencing(c.log_since(kN2, mark2)));
    }
    check_records_and_mounts(c);
}

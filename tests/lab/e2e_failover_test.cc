// SPDX-License-Identifier: GPL-2.0-or-later
// End to end, part 1 (issue 7): two real veeam-had daemons in the lab. Cold start, crash of the
// active host with fencing through the vCenter simulator and the return of the crashed host,
// planned moves both ways (one forwarded by the passive), SIGTERM on the active (clean
// handover), kill -9 of the active's daemon (adoption, nothing restarted), and the upgrade path
// (maintenance mode, both daemons killed and restarted, the group never stops).
//
// Every test: the client's writer appends records through the floating IP the whole time and
// every acknowledged record is checked on the disk at the end; the double-mount watcher reads
// both hosts' mount tables every 2 ms for the whole test.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/common/skip.h"
#include "tests/lab/e2e_checks.h"
#include "base/process.h"
#include "tests/lab/e2e_cluster.h"
#include "tests/runtime/exposition.h"

using namespace veeamha::lab;
using namespace veeamha::lab::e2e;

namespace {

const std::vector<std::string> kResources = {"fs_repo", "ip_repo", "svc_repo"};

}  // namespace

TEST_CASE("e2e: cold start: exactly one active (the preferred n1) and status agrees on both nodes", "[e2e]") {
    Cluster c;  // both daemons started at once; returns once the group runs on n1
    INFO("logs kept in " << kept_logs_root());
    REQUIRE(c.wait_settled(kN1, 15s));
    CHECK(c.running_on() == kN1);

    StatusView s1 = c.status(kN1), s2 = c.status(kN2);
    INFO(s1.error << s2.error << "\n" << s1.raw << s2.raw);
    REQUIRE(s1.ok);
    REQUIRE(s2.ok);
    CHECK(s1.cluster == "veeam-ha-lab");
    CHECK(s1.local_node == kN1);
    CHECK(s2.local_node == kN2);
    CHECK(s1.owner == kN1);
    CHECK(s2.owner == kN1);
    CHECK(s1.epoch >= 1);
    CHECK(s1.epoch == s2.epoch);
    CHECK(!s1.maintenance);
    CHECK(!s2.maintenance);
    for (const auto& r : kResources) {
        CHECK(s1.resources[r] == "started");
        CHECK(s2.resources[r] == "stopped");
        CHECK(s1.fail_counts[r] == 0);
    }
    // The HTTP endpoint says the same (docs/design.md §8: /status JSON, /metrics Prometheus).
    auto http = c.http_get(kN1, "/status");
    REQUIRE(http);
    CHECK(http->find("\"owner\":\"n1\"") != std::string::npos);
    CHECK(http->find("\"epoch\":\"" + std::to_string(s1.epoch) + "\",") != std::string::npos);  // 64-bit: a string
    auto metrics = c.http_get(kN2, "/metrics");
    REQUIRE(metrics);
    CHECK(metrics->find("veeamha_holding{cluster=\"veeam-ha-lab\",node=\"n2\"} 0") != std::string::npos);
    CHECK(metrics->find("veeamha_peer_up{cluster=\"veeam-ha-lab\",node=\"n2\"} 1") != std::string::npos);
    // The text status works too, and the passive says where the group runs.
    auto text = c.hactl(kN2, {"status"});
    INFO(text.out);
    CHECK(text.success());
    CHECK(text.out.find("group running on n1") != std::string::npos);
    CHECK(text.out.find("  n1: up, active, group started\n") != std::string::npos);
    for (const auto& r : kResources) CHECK(text.out.find("  " + r + " (") != std::string::npos);
    CHECK(text.out.find("): stopped here, running on n1\n") != std::string::npos);
    CHECK(s2.peer_state == "up");
    CHECK(s2.peer_role == "active");
    // The one-line check for monitoring systems, from either node.
    for (const char* host : {kN1, kN2}) {
        auto check = c.hactl(host, {"status", "--check"});
        INFO(check.out << check.err);
        CHECK(check.exit_code == 0);
        CHECK(check.out.rfind("VEEAMHA OK - group running on n1, peer ", 0) == 0);
    }
    // --watch redraws until interrupted (here after 2 s, by SIGINT as from a terminal).
    auto watch = c.lab().exec_in(kN2, {"timeout", "--preserve-status", "-s", "INT", "2", veeam_hactl_binary(),
                                       "--config", c.config_path(), "--node", kN2, "status", "--watch",
                                       "--interval", "0.5"},
                                 10s);
    INFO(watch.describe() << "\n" << watch.out << watch.err);
    CHECK(watch.success());
    size_t frames = 0;
    for (size_t at = watch.out.find("Every 0.5s: veeam-hactl status"); at != std::string::npos;
         at = watch.out.find("Every 0.5s: veeam-hactl status", at + 1))
        ++frames;
    CHECK(frames >= 2);
    CHECK(frames <= 5);

    // Why: n2 granted it to the preferred node; nobody fenced anybody.
    CHECK(c.log(kN2).find("grant: granting the group to n1") != std::string::npos);
    CHECK(c.log(kN1).find("takeover: taking over the group at epoch") != std::string::npos);
    CHECK(no_fencing(c.log(kN1) + c.log(kN2)));
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.vcenter_power(kN2) == "on");

    REQUIRE(c.wait_more_acks(100, 20s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: crash of the active host: fenced via vCenter and taken over then back as passive without failback",
          "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark2 = c.log_mark(kN2);

    c.lab().kill(kN1);  // every process of n1 gone, cables out; vCenter still shows it on
    REQUIRE(c.wait_running_on(kN2, 20s));

    // The world: vCenter powered n1 off (the fence), n2 runs everything.
    CHECK(c.vcenter_power(kN1) == "off");
    CHECK(c.lab().vm_off(kN1));
    CHECK(c.vcenter_power(kN2) == "on");
    // The reasons, in order. The service answers a moment before the daemon hears its start
    // return and logs the group started: wait for that line, then read.
    CHECK(c.wait_log(kN2, "group-started: group started on n2", 10s, mark2));
    std::string l2 = c.log_since(kN2, mark2);
    INFO(l2);
    CHECK(in_order(l2, {"peer-lost: n1 lost", "fence-request: fencing n1 (power off)", "fenced: fence of n1 confirmed",
                        "takeover: taking over the group at epoch", "n1 was fenced (power-off confirmed)",
                        "group-started: group started on n2"}));
    auto history = c.hactl(kN2, {"history"});
    CHECK(history.success());
    CHECK(history.out.find("fence of n1 confirmed") != std::string::npos);
    StatusView s2 = c.status(kN2);
    REQUIRE(s2.ok);
    CHECK(s2.owner == kN2);
    CHECK(s2.local_state == "active");
    CHECK(s2.has_last_failover);
    CHECK(s2.last_failover_node == kN2);
    // The fence is history beside the fencing check (which keeps saying what it read).
    CHECK(s2.last_fence == "confirmed");
    CHECK(s2.last_fence_detail.find("poweredOff") != std::string::npos);
    CHECK(s2.fencing_detail.find("fence confirmed") == std::string::npos);
    CHECK(s2.peer_role.empty());  // not heard: nothing said of its role
    auto degraded = c.hactl(kN2, {"status", "--check"});
    INFO(degraded.out);
    CHECK(degraded.exit_code == 1);
    CHECK(degraded.out.rfind("VEEAMHA WARNING - peer n1 fenced, group running on n2", 0) == 0);
    // /metrics after a real failover: valid for promtool, with the failover and the fence timed.
    auto metrics = c.http_get(kN2, "/metrics");
    REQUIRE(metrics);
    INFO(*metrics);
    CHECK(veeamha::test::check_grouping(*metrics) == "");
    CHECK(veeamha::test::promtool_check_metrics(*metrics) == "");
    const std::string id = "{cluster=\"veeam-ha-lab\",node=\"n2\"}";
    for (const char* name : {"veeamha_last_failover_timestamp_seconds", "veeamha_last_failover_duration_seconds",
                             "veeamha_last_fence_timestamp_seconds", "veeamha_last_fence_duration_seconds"})
        CHECK(metrics->find(name + id + " ") != std::string::npos);
    CHECK(metrics->find("veeamha_node_state{cluster=\"veeam-ha-lab\",node=\"n2\",state=\"active\"} 1\n") !=
          std::string::npos);
    CHECK(metrics->find("veeamha_events_total{cluster=\"veeam-ha-lab\",node=\"n2\",kind=\"takeover\"} 1\n") !=
          std::string::npos);
    CHECK(metrics->find("veeamha_fencing_check_ok" + id + " 1\n") != std::string::npos);
    REQUIRE(c.wait_more_acks(50, 20s));

    // The crashed host comes back (through vCenter, which has it off); its daemon starts at boot.
    const size_t mark1 = c.log_mark(kN1);
    c.lab().power_on(kN1);
    REQUIRE(c.wait_settled(kN2, 20s));
    // No failback: the group stays on n2 while n1 is a healthy passive.
    CHECK(Cluster::holds_for(2s, [&] { return c.running_on() == kN2; }));
    std::string l1 = c.log_since(kN1, mark1);
    CHECK(l1.find("takeover") == std::string::npos);
    CHECK(l1.find("resource-start") == std::string::npos);
    // n2 read n1's power again once it was heard (not at the next 5-minute round): "Fencing:"
    // says what is true now.
    REQUIRE(Cluster::eventually(20s, [&] {
        StatusView s = c.status(kN2);
        return s.ok && s.fencing == "ok" && s.fencing_at != s2.fencing_at &&
               s.fencing_detail.find("poweredOn") != std::string::npos;
    }));
    // The fenced node shows the failover it was fenced in, as n2 (which carried it out) recorded it.
    REQUIRE(Cluster::eventually(10s, [&] {
        StatusView s = c.status(kN1);
        return s.ok && s.has_last_failover && s.last_failover_node == kN2;
    }));
    auto text1 = c.hactl(kN1, {"status"});
    INFO(text1.out);
    CHECK(text1.out.find("Last failover: ") != std::string::npos);
    CHECK(text1.out.find(" to n2, took ") != std::string::npos);
    CHECK(text1.out.find("): stopped here, running on n2\n") != std::string::npos);
    REQUIRE(Cluster::eventually(10s, [&] { return c.hactl(kN1, {"status", "--check"}).exit_code == 0; }));
    REQUIRE(c.wait_more_acks(30, 10s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: planned move both ways (the second one issued on the passive and forwarded)", "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const uint64_t epoch0 = c.status(kN1).epoch;
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    auto r = c.hactl(kN1, {"move"});
    INFO(r.describe() << r.out << r.err);
    REQUIRE(r.success());
    CHECK(r.out.find("moving the group to n2") != std::string::npos);
    REQUIRE(c.wait_running_on(kN2, 20s));
    REQUIRE(c.wait_settled(kN2, 10s));
    const uint64_t epoch1 = c.status(kN2).epoch;
    CHECK(epoch1 > epoch0);
    REQUIRE(c.wait_more_acks(50, 10s));

    // Back to n1, asked on n1, which is now the passive: it forwards the move to n2.
    auto back = c.hactl(kN1, {"move"});
    INFO(back.describe() << back.out << back.err);
    REQUIRE(back.success());
    REQUIRE(c.wait_running_on(kN1, 20s));
    REQUIRE(c.wait_settled(kN1, 10s));
    CHECK(c.status(kN1).epoch > epoch1);
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(l2.find("admin move (forwarded by n1)") != std::string::npos);
    CHECK(in_order(l1, {"move: admin move: handing the group from n1 to n2", "release: group stopped and released",
                        "takeover: taking over the group at epoch", "n2 stopped everything and granted it"}));
    CHECK(no_fencing(l1 + l2));
    CHECK(!c.lab().vm_off(kN1));
    CHECK(!c.lab().vm_off(kN2));
    REQUIRE(c.wait_more_acks(50, 10s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: SIGTERM on the active daemon (systemctl stop): clean handover without fencing", "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);
    const int sessions = c.lab().vcenter_sessions();  // each daemon keeps one for fencing

    auto status = c.stop_daemon(kN1, 30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    // It logged out of vCenter on its way out: no session left behind for vCenter to expire.
    CHECK(c.lab().vcenter_sessions() == sessions - 1);
    REQUIRE(c.wait_running_on(kN2, 20s));

    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(in_order(l1, {"received SIGTERM", "shutdown: shutting down: stopping the group and handing it to n2",
                        "release: group stopped and released", "exit: group stopped and released; exiting"}));
    CHECK(l2.find("takeover: taking over the group") != std::string::npos);
    CHECK(no_fencing(l1 + l2));
    CHECK(l2.find("fenced:") == std::string::npos);
    // The simulator never powered anything off.
    CHECK(!c.lab().vm_off(kN1));
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.vcenter_power(kN2) == "on");
    REQUIRE(c.wait_more_acks(50, 10s));

    // systemctl start again: n1 joins as the passive, the group stays on n2.
    c.start_daemon(kN1);
    REQUIRE(c.wait_settled(kN2, 15s));
    CHECK(Cluster::holds_for(2s, [&] { return c.running_on() == kN2; }));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: kill -9 and restart of the active daemon: the group is adopted and nothing restarts", "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const pid_t service = c.service_pid(kN1);
    REQUIRE(service > 0);
    const uint64_t failures = c.writer()->stats().failures;
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    c.kill9_daemon(kN1, true);  // and start it again at once (as systemd's Restart= would)
    REQUIRE(c.wait_log(kN1, "adopt: adopting the group already running here", 10s, mark1));
    REQUIRE(c.wait_settled(kN1, 10s));
    REQUIRE(c.wait_more_acks(50, 10s));

    CHECK(c.running_on() == kN1);
    CHECK(c.service_pid(kN1) == service);  // the same repo server process
    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(l1.find("resource-start") == std::string::npos);
    CHECK(l1.find("resource-stop") == std::string::npos);
    CHECK(no_fencing(l1 + l2));
    CHECK(c.vcenter_power(kN1) == "on");
    // The client never noticed: not one failed write.
    CHECK(c.writer()->stats().failures == failures);
    check_records_and_mounts(c);
}

// The bug behind the test above: Boost.Asio opens sockets without SOCK_CLOEXEC, and the exec
// resource's service (daemonized) kept the daemon's heartbeat and channel sockets open, so a
// restarted daemon could not bind its port. No lab needed: run_process itself.
TEST_CASE("e2e: commands the daemon runs inherit none of its descriptors", "[e2e]") {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);  // no SOCK_CLOEXEC, like Boost.Asio's
    REQUIRE(fd > 2);
    veeamha::base::ProcessSpec spec;
    spec.argv = {"test", "-e", "/proc/self/fd/" + std::to_string(fd)};
    spec.deadline = veeamha::base::Clock::now() + 10s;
    auto r = veeamha::base::run_process(spec);
    ::close(fd);
    INFO(r.describe());
    CHECK(r.ended == veeamha::base::ProcessResult::Ended::Exited);
    CHECK(r.exit_code == 1);  // the descriptor does not exist in the child
}

TEST_CASE("e2e: maintenance mode: both daemons killed and restarted in turn while the group never stops",
          "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const pid_t service = c.service_pid(kN1);
    REQUIRE(service > 0);
    const size_t mark1 = c.log_mark(kN1), mark2 = c.log_mark(kN2);

    // Cluster-wide, asked on the passive.
    auto on = c.hactl(kN2, {"maintenance", "on"});
    INFO(on.describe() << on.out << on.err);
    REQUIRE(on.success());
    REQUIRE(Cluster::eventually(5s, [&] { return c.status(kN1).maintenance && c.status(kN2).maintenance; }));
    const uint64_t failures = c.writer()->stats().failures;

    // The "upgrade" of n1 (the active): its daemon dies; n2 sees it lost and does NOT fence
    // (maintenance: reported only); the new daemon adopts the running group.
    size_t before = c.log_mark(kN2);
    c.kill9_daemon(kN1, false);
    REQUIRE(c.wait_log(kN2, "peer-lost: n1 lost", 5s, before));
    before = c.log_mark(kN1);
    c.start_daemon(kN1);
    REQUIRE(c.wait_log(kN1, "adopt: adopting the group already running here", 10s, before));
    REQUIRE(Cluster::eventually(10s, [&] {
        StatusView s = c.status(kN1);
        return s.ok && s.maintenance && s.local_state == "active" && s.peer_state.rfind("up", 0) == 0;
    }));

    // Then n2 (the passive).
    before = c.log_mark(kN1);
    c.kill9_daemon(kN2, false);
    REQUIRE(c.wait_log(kN1, "peer-lost: n2 lost", 5s, before));
    c.start_daemon(kN2);
    REQUIRE(Cluster::eventually(10s, [&] {
        StatusView s = c.status(kN2);
        return s.ok && s.maintenance && s.local_state == "passive" && s.owner == kN1 &&
               s.peer_state.rfind("up", 0) == 0;
    }));
    REQUIRE(c.wait_more_acks(30, 10s));
    // The group never stopped: the same server, not one failed write.
    CHECK(c.service_pid(kN1) == service);
    CHECK(c.writer()->stats().failures == failures);

    auto off = c.hactl(kN1, {"maintenance", "off"});
    INFO(off.describe() << off.out << off.err);
    REQUIRE(off.success());
    REQUIRE(c.wait_settled(kN1, 10s));
    REQUIRE(Cluster::eventually(5s, [&] { return !c.status(kN1).maintenance && !c.status(kN2).maintenance; }));
    CHECK(Cluster::holds_for(2s, [&] { return c.running_on() == kN1; }));
    CHECK(c.service_pid(kN1) == service);
    REQUIRE(c.wait_more_acks(30, 10s));
    CHECK(c.writer()->stats().failures == failures);

    std::string l1 = c.log_since(kN1, mark1), l2 = c.log_since(kN2, mark2);
    INFO(l1 << l2);
    CHECK(l1.find("resource-start") == std::string::npos);
    CHECK(l1.find("resource-stop") == std::string::npos);
    CHECK(no_fencing(l1 + l2));
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.vcenter_power(kN2) == "on");
    check_records_and_mounts(c);
}

TEST_CASE("e2e: SIGTERM on the active daemon with its peer down: the group stops in reverse order and it exits",
          "[e2e]") {
    Cluster c;
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(30, 10s));
    c.lab().kill(kN2);  // the passive host crashes; the active never fences a lost passive
    REQUIRE(c.wait_log(kN1, "peer-lost: n2 lost", 5s));
    REQUIRE(c.running_on() == kN1);
    const size_t mark1 = c.log_mark(kN1);
    auto status = c.stop_daemon(kN1, 30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    // Nothing of the group is left anywhere: the repository is down, cleanly.
    HostTruth t1 = c.truth(kN1);
    CHECK(!t1.mounted);
    CHECK(!t1.floating_ip);
    CHECK(!t1.service);
    CHECK(!c.lab().service_answers(300ms));
    std::string l1 = c.log_since(kN1, mark1);
    INFO(l1);
    CHECK(in_order(l1, {"resource-stopped: svc_repo stopped", "resource-stopped: ip_repo stopped",
                        "resource-stopped: fs_repo stopped", "exit:"}));
    CHECK(no_fencing(l1));
    CHECK(c.lab().vm_off(kN2) == false);  // n2 crashed; nobody fenced it
    // The records written until the stop are all on the disk (read it as n1 sees it: mounted
    // again by hand, the daemons are gone).
    c.writer()->stop();
    auto mount = c.lab().exec_in(kN1, {"mount", c.lab().loop_device(), c.lab().mountpoint()});
    INFO(mount.describe() << mount.err);
    REQUIRE(mount.success());
    check_records_and_mounts(c);
    c.lab().exec_in(kN1, {"umount", c.lab().mountpoint()});
}

TEST_CASE("e2e: crash of the active with fencing.action reboot: fenced by a reboot and back as the passive", "[e2e]") {
    ClusterOptions o;
    o.lab.fence_action = "reboot";
    Cluster c(o);
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(50, 10s));
    const size_t mark2 = c.log_mark(kN2);
    c.lab().kill(kN1);
    REQUIRE(c.wait_running_on(kN2, 20s));
    // vCenter rebooted the VM: on again, and its daemon (started at boot) joins as the passive.
    REQUIRE(c.wait_settled(kN2, 20s));
    CHECK(c.vcenter_power(kN1) == "on");
    CHECK(c.lab().powered(kN1));
    std::string l2 = c.log_since(kN2, mark2);
    INFO(l2);
    CHECK(in_order(l2, {"fence-request: fencing n1 (reboot)", "fenced: fence of n1 confirmed",
                        "takeover: taking over the group"}));
    CHECK(Cluster::holds_for(2s, [&] { return c.running_on() == kN2; }));
    REQUIRE(c.wait_more_acks(50, 10s));
    check_records_and_mounts(c);
}

TEST_CASE("e2e: crash of the active with an alert program that hangs: the failover goes on, Pacemaker's sample agent gets every step in order",
          "[e2e]") {
    if (!std::filesystem::exists("/usr/share/pacemaker/alerts/alert_file.sh.sample"))
        VEEAMHA_SKIP_TEST("no Pacemaker sample alert agent (Debian's pacemaker package)");
    ClusterOptions co;
    co.hanging_alert = true;
    Cluster c(co);
    REQUIRE(c.wait_settled(kN1, 15s));
    REQUIRE(c.wait_more_acks(20, 10s));
    // Both daemons' hanging programs are stuck since their first event.
    auto hanging = [] {
        auto r = veeamha::base::run_process({{"pgrep", "-f", "-c", "^sleep 100000$"}, "", {},
                                             veeamha::base::Clock::now() + 5s});
        return r.ended == veeamha::base::ProcessResult::Ended::Exited ? std::atoi(r.out.c_str()) : 0;
    };
    CHECK(hanging() == 2);
    const auto t_kill = std::chrono::steady_clock::now();
    c.lab().kill(kN1);
    REQUIRE(c.wait_running_on(kN2, 20s));
    std::printf("e2e: crash with a hanging alert program: the service answered on n2 %lld ms after the kill\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - t_kill).count()));
    CHECK(hanging() >= 1);  // n2's is still hanging
    std::string pcmk;
    CHECK(Cluster::eventually(10s, [&] {
        pcmk = c.pcmk_alerts(kN2);
        return pcmk.find("Node 'n2' is now 'group started on n2") != std::string::npos;
    }));
    INFO(pcmk);
    CHECK(in_order(pcmk, {"Node 'n1' is now 'lost'", "Fencing fencing n1 (power off)", "Fencing fence of n1 confirmed",
                          "Node 'n2' is now 'taking over the group at epoch", "Node 'n2' is now 'group started on n2"}));
    check_records_and_mounts(c);
}

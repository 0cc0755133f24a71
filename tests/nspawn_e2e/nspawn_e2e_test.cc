// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-had under a real systemd (docs/design.md §7, issue 7 "Real systemd"): two hosts booted as
// systemd-nspawn containers with the package's veeam-had.service, driven the way a user drives
// them, with systemctl inside the containers (see nspawn_cluster.h for the setup).
//
// One scenario, in order (each step needs the state the previous one left):
//   1. a daemon that fails before READY=1 (key file readable by others): `systemctl start`
//      fails, the unit is failed with exit status 1 and is not restarted;
//   2. `systemctl enable` + `start veeam-had` on both: active only once READY=1 came,
//      StatusText carries the daemon's STATUS=, exactly one node runs the group's unit (over
//      D-Bus) and holds the floating address, `veeam-hactl status --json` agrees on both;
//      a unit file in `sync:` changed on the active node: the passive's systemd shows the new
//      text without a daemon-reload by hand;
//  2c. `veeam-hactl check --peer`: the group's unit the same and disabled at boot on both;
//      `systemctl enable` of it on n2 is the one line that differs, with its fix;
//   3. `systemctl stop veeam-had` on the active node: a clean handover (no fence attempt), the
//      stopped daemon exited 0 and its last STATUS= says where the group went;
//   4. `systemctl start` again: it joins as passive, no failback, the service never restarted;
//   5. watchdog: the passive daemon frozen (SIGSTOP) is killed by systemd after WatchdogSec and
//      restarted, and rejoins; the active never notices beyond a lost passive;
//   6. `systemctl reload` with a broken file: the reload job fails with the file's errors; a
//      bare SIGHUP is refused by the daemon itself; old configuration kept, nothing moves;
//   7. `systemctl reload` with `failback: true` on both: applied live, the group goes back to
//      the preferred node by a clean handover;
//   8. `systemctl poweroff` of the active host: the daemon hands the group over before the
//      host goes down (ordered before D-Bus at shutdown; the group's unit ordered after the
//      daemon, so systemd does not stop it behind the daemon's back), in bounded time;
//   9. `systemctl stop veeam-had` on the last node: the group stopped, exit 0.
// Never once is the fence agent called. About 10 s (15 s under load) on the 2-core machine.
#include <catch2/catch.hpp>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <sstream>

#include "tests/nspawn_e2e/nspawn_cluster.h"
#include "tests/common/skip.h"

using namespace veeamha;
using namespace veeamha::test;
using namespace std::chrono_literals;

#ifndef VEEAMHA_HAD_PATH
#error "VEEAMHA_HAD_PATH, VEEAMHA_HACTL_PATH and VEEAMHA_UNIT_FILE must be defined"
#endif

namespace {

constexpr const char* kHad = "veeam-had.service";

// Prints both daemons' journals and units when a REQUIRE fails (the exception unwinds through
// here) or when the test says it failed.
struct DiagnosticsOnFailure {
    NspawnCluster& cluster;
    ~DiagnosticsOnFailure() {
        if (std::uncaught_exceptions() > 0) std::cerr << "\n" << cluster.diagnostics() << std::endl;
    }
};

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

double seconds_since(base::Clock::time_point t0) {
    return std::chrono::duration<double>(base::Clock::now() - t0).count();
}

// A time span as `systemctl show` prints it ("300ms", "2s", "1min 30s"), in seconds; -1 if it
// is not one.
double timespan_seconds(const std::string& text) {
    static const std::map<std::string, double> units{{"us", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"min", 60}, {"h", 3600}};
    std::istringstream in(text);
    double total = 0;
    bool any = false;
    for (std::string part; in >> part; any = true) {
        size_t digits = 0;
        while (digits < part.size() && (std::isdigit(static_cast<unsigned char>(part[digits])) || part[digits] == '.'))
            ++digits;
        auto unit = units.find(part.substr(digits));
        if (digits == 0 || unit == units.end()) return -1;
        total += std::stod(part.substr(0, digits)) * unit->second;
    }
    return any ? total : -1;
}

// `veeam-hactl status --json` inside the container.
boost::property_tree::ptree hactl_status(NspawnCluster& c, int i) {
    base::ProcessResult r = c.exec(i, {"veeam-hactl", "status", "--json"}, 30s);
    if (!r.success()) throw std::runtime_error("veeam-hactl status --json on " + c.node(i) + ": " + r.describe());
    boost::property_tree::ptree tree;
    std::istringstream in(r.out);
    boost::property_tree::read_json(in, tree);
    return tree;
}

std::string resource_state(const boost::property_tree::ptree& status, const std::string& name) {
    for (const auto& [key, r] : status.get_child("resources"))
        if (r.get<std::string>("name") == name) return r.get<std::string>("state");
    return "(absent)";
}

std::string node_state(const boost::property_tree::ptree& status, const std::string& name) {
    for (const auto& [key, n] : status.get_child("nodes"))
        if (n.get<std::string>("name") == name) return n.get<std::string>("state");
    return "(absent)";
}

}  // namespace

TEST_CASE("veeam-had.service under real systemd: start, clean handover, watchdog, reload, host poweroff",
          "[nspawn]") {
    std::string why = NspawnCluster::cannot_run_reason();
    if (!why.empty()) VEEAMHA_SKIP_TEST(why);
    const auto t_start = base::Clock::now();
    NspawnCluster cluster(VEEAMHA_HAD_PATH, VEEAMHA_HACTL_PATH, VEEAMHA_UNIT_FILE);
    DiagnosticsOnFailure diagnostics{cluster};
    std::cout << "containers up in " << seconds_since(t_start) << " s" << std::endl;
    const std::string app = NspawnCluster::kAppUnit;

    auto status_text = [&](int i) { return cluster.property(i, kHad, "StatusText"); };
    auto app_state = [&](int i) { return cluster.property(i, app, "ActiveState"); };
    auto app_pid = [&](int i) { return cluster.property(i, app, "MainPID"); };
    auto no_fence_attempts = [&] {
        for (int i : {kN1, kN2}) {
            if (!cluster.container(i).running()) continue;
            INFO(cluster.node(i));
            CHECK_FALSE(cluster.file_exists(i, NspawnCluster::kFenceLog));
            CHECK(cluster.journal(i, kHad).find("fence-request:") == std::string::npos);
        }
    };
    // The group runs on `active` and nowhere else: StatusText, the unit, the address.
    auto group_on = [&](int active, int epoch) {
        const int passive = 1 - active;
        return status_text(active) == "active: group started (epoch " + std::to_string(epoch) + ")" &&
               status_text(passive) == "passive: " + cluster.node(active) + " runs the group" &&
               app_state(active) == "active" && app_state(passive) == "inactive" &&
               cluster.has_floating_ip(active) && !cluster.has_floating_ip(passive);
    };

    {
        // The package installs the unit without enabling it.
        REQUIRE(cluster.systemctl(kN1, {"is-enabled", "veeam-had"}).out == "disabled\n");
        REQUIRE(cluster.property(kN1, kHad, "Type") == "notify");

        // ---- 1. No READY=1, no active unit: a key file others can read stops the daemon
        // before it is ready; exit 1 = "a restart cannot fix this" (RestartPreventExitStatus).
        cluster.chmod(kN1, "/etc/veeam-ha/authkey", 0644);
        base::ProcessResult refused = cluster.systemctl(kN1, {"start", "veeam-had"});
        CHECK_FALSE(refused.success());
        auto failed = cluster.show(kN1, kHad, {"ActiveState", "Result", "ExecMainStatus", "NRestarts"});
        CHECK(failed["ActiveState"] == "failed");
        CHECK(failed["Result"] == "exit-code");
        CHECK(failed["ExecMainStatus"] == "1");
        CHECK(failed["NRestarts"] == "0");
        CHECK_THAT(cluster.journal(kN1, kHad), Catch::Contains("/etc/veeam-ha/authkey"));
        cluster.chmod(kN1, "/etc/veeam-ha/authkey", 0600);

        // ---- 2. systemctl enable + start on both (README: `systemctl enable --now veeam-had`,
        // in two steps to see the start). Enabled, the unit stays loaded when it stops, so its
        // last STATUS= stays visible (systemd drops what it knew of an unreferenced unit).
        // `start` of a Type=notify unit returns once READY=1 came; the daemon's first STATUS=
        // is there by then.
        for (int i : {kN1, kN2}) REQUIRE(cluster.systemctl(i, {"enable", "veeam-had"}).success());
        for (int i : {kN1, kN2}) {
            auto t0 = base::Clock::now();
            base::ProcessResult started = cluster.systemctl(i, {"start", "veeam-had"});
            INFO(cluster.node(i) << ": " << started.describe());
            REQUIRE(started.success());
            std::cout << "systemctl start veeam-had on " << cluster.node(i) << ": " << seconds_since(t0) << " s"
                      << std::endl;
            auto u = cluster.show(i, kHad, {"ActiveState", "SubState", "StatusText", "NRestarts", "WatchdogUSec"});
            CHECK(u["ActiveState"] == "active");
            CHECK(u["WatchdogUSec"] == "3s");  // the drop-in (systemd reports it once started)
            CHECK(u["SubState"] == "running");
            CHECK(u["StatusText"].rfind("passive: ", 0) == 0);  // nobody holds the group yet
            CHECK(u["NRestarts"] == "0");
        }
        REQUIRE(eventually([&] { return group_on(kN1, 2); }, 20s));
        CHECK_THAT(cluster.journal(kN1, kHad), Catch::Contains("veeam-had n1 ready"));
        // n2's host name is no node's: it runs as n2 because of /etc/default/veeam-had.
        CHECK(cluster.exec(kN2, {"hostname"}).out == "backup-b\n");
        CHECK_THAT(cluster.journal(kN2, kHad), Catch::Contains("veeam-had n2 ready"));
        for (int i : {kN1, kN2}) {
            auto st = hactl_status(cluster, i);
            INFO("veeam-hactl status --json on " << cluster.node(i));
            CHECK(st.get<std::string>("cluster") == "vhtest");
            CHECK(st.get<std::string>("local_node") == cluster.node(i));
            CHECK(st.get<std::string>("owner") == "n1");
            CHECK(st.get<int>("epoch") == 2);  // n1 draws even epochs, n2 odd ones
            CHECK(node_state(st, cluster.node(1 - i)).rfind("up", 0) == 0);
            CHECK(resource_state(st, "svc_app") == (i == kN1 ? "started" : "stopped"));
            CHECK(resource_state(st, "ip_app") == (i == kN1 ? "started" : "stopped"));
        }
        // The group's unit stops after the daemon at shutdown (step 8): the daemon's first
        // probe wrote the order drop-in on both nodes, the passive too (before it takes over).
        for (int i : {kN1, kN2}) {
            INFO(cluster.node(i));
            CHECK_THAT(cluster.property(i, app, "Before"), Catch::Contains("veeam-had.service"));
        }
        // The fencing check at start read the peer's power state through the agent.
        for (int i : {kN1, kN2}) {
            INFO("fencing check on " << cluster.node(i));
            CHECK(eventually([&] { return hactl_status(cluster, i).get<bool>("fencing.ok", false); }, 10s));
        }
        no_fence_attempts();

        // ---- 2b. sync: a unit file changed on the active node reaches the passive one, whose
        // systemd is reloaded: the loaded unit shows the new text, no daemon-reload by hand.
        {
            const std::string synced = NspawnCluster::kSyncedUnit;
            const std::string path = "/etc/systemd/system/" + synced;
            auto unit = [](const std::string& description) {
                return "[Unit]\nDescription=" + description + "\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                       "ExecStart=/bin/true\n";
            };
            cluster.write_file(kN1, path, unit("synced v1"), 0644);
            REQUIRE(eventually([&] { return cluster.file_exists(kN2, path) && cluster.read_file(kN2, path) == unit("synced v1"); }, 5s));
            REQUIRE(cluster.systemctl(kN2, {"start", synced}).success());  // loaded, and stays so
            REQUIRE(cluster.property(kN2, synced, "Description") == "synced v1");
            auto t_sync = base::Clock::now();
            cluster.write_file(kN1, path, unit("synced v2"), 0644);
            CHECK(eventually([&] {
                auto u = cluster.show(kN2, synced, {"Description", "NeedDaemonReload"});
                return u["Description"] == "synced v2" && u["NeedDaemonReload"] == "no";
            }, 5s));
            std::cout << "sync: the passive's systemd shows the changed unit " << seconds_since(t_sync) << " s after"
                      << std::endl;
            CHECK_THAT(cluster.journal(kN2, kHad), Catch::Contains("ran systemctl daemon-reload"));
        }

        // ---- 2c. check --peer under a real systemd: the group's unit is the same on both and
        // disabled at boot; enabled on n2 it is the one item that differs, with its fix.
        {
            auto peer_check = [&](int i) {
                base::ProcessResult r = cluster.exec(i, {"veeam-hactl", "check", "--peer"}, 60s);
                INFO("check --peer on " << cluster.node(i) << ": " << r.describe() << "\n" << r.out << r.err);
                return r;
            };
            base::ProcessResult alike = peer_check(kN1);
            INFO(alike.out);
            CHECK_THAT(alike.out, Catch::Contains("unit vhtest-app.service: ok (the same /etc/systemd/system/vhtest-app.service)\n"));
            CHECK_THAT(alike.out, Catch::Contains("unit vhtest-app.service at boot: ok (disabled on n1, disabled on n2)\n"));
            // The unit denies adjtimex(2) (@clock): the clock's state comes from timedated instead.
            CHECK_THAT(alike.out, Catch::Contains("time-sync: ") && !Catch::Contains("time-sync: unknown"));
            REQUIRE(cluster.systemctl(kN2, {"enable", "vhtest-app"}).success());
            for (int i : {kN1, kN2}) {
                base::ProcessResult planted = peer_check(i);
                INFO(planted.out);
                CHECK(planted.exit_code == 1);
                CHECK_THAT(planted.out, Catch::Contains("unit vhtest-app.service at boot: different: disabled on n1, enabled on "
                                                        "n2; fix: systemctl disable vhtest-app.service on n2\n"));
            }
            REQUIRE(cluster.systemctl(kN2, {"disable", "vhtest-app"}).success());
            CHECK_THAT(peer_check(kN1).out, Catch::Contains("unit vhtest-app.service at boot: ok"));
        }

        // ---- 3. systemctl stop on the active node: stop here, grant, start there.
        auto t_stop = base::Clock::now();
        base::ProcessResult stopped = cluster.systemctl(kN1, {"stop", "veeam-had"});
        REQUIRE(stopped.success());
        std::cout << "systemctl stop veeam-had on the active n1: " << seconds_since(t_stop) << " s" << std::endl;
        auto u1 = cluster.show(kN1, kHad, {"ActiveState", "Result", "ExecMainCode", "ExecMainStatus", "StatusText"});
        CHECK(u1["ActiveState"] == "inactive");
        CHECK(u1["Result"] == "success");
        CHECK(u1["ExecMainCode"] == "1");  // CLD_EXITED
        CHECK(u1["ExecMainStatus"] == "0");
        CHECK(u1["StatusText"] == "stopped: n2 runs the group");
        CHECK(app_state(kN1) == "inactive");
        CHECK_FALSE(cluster.has_floating_ip(kN1));
        REQUIRE(eventually([&] { return status_text(kN2) == "active: group started (epoch 3)"; }, 15s));
        CHECK(app_state(kN2) == "active");
        CHECK(cluster.has_floating_ip(kN2));
        std::cout << "handover: n2 runs the group " << seconds_since(t_stop) << " s after systemctl stop" << std::endl;
        CHECK_THAT(cluster.journal(kN2, kHad), Catch::Contains("peer-left: n1 is shutting down cleanly"));
        no_fence_attempts();

        // ---- 4. Back again: passive, no failback; n2's service is never restarted.
        const std::string n2_app_pid = app_pid(kN2);
        REQUIRE(cluster.systemctl(kN1, {"start", "veeam-had"}).success());
        REQUIRE(eventually([&] { return group_on(kN2, 3); }, 15s));
        CHECK(app_pid(kN2) == n2_app_pid);

        // ---- 5. Watchdog: freeze the passive daemon. systemd kills it (SIGABRT) after
        // WatchdogSec without a WATCHDOG=1 and restarts it (Restart=on-failure, the package's
        // RestartSec). The passive is chosen because nothing may move: the active keeps the
        // group and does not fence a lost passive; a frozen active would be fenced by its peer,
        // which this test's agent refuses, so the outcome would only be "no takeover".
        auto before = cluster.show(kN1, kHad, {"MainPID", "NRestarts", "RestartUSec"});
        REQUIRE(before["NRestarts"] == "0");
        const double restart_sec = timespan_seconds(before["RestartUSec"]);
        REQUIRE(restart_sec >= 0);
        auto t_freeze = base::Clock::now();
        REQUIRE(cluster.systemctl(kN1, {"kill", "--kill-who=main", "--signal=SIGSTOP", "veeam-had"}).success());
        REQUIRE(eventually(
            [&] {
                auto u = cluster.show(kN1, kHad, {"ActiveState", "SubState", "MainPID", "NRestarts"});
                return u["NRestarts"] == "1" && u["ActiveState"] == "active" && u["SubState"] == "running" &&
                       u["MainPID"] != before["MainPID"];
            },
            NspawnCluster::kWatchdog + 2s + 20s));
        const double restarted_after = seconds_since(t_freeze);
        std::cout << "watchdog: frozen daemon killed and running again after " << restarted_after << " s"
                  << std::endl;
        // The earliest the watchdog's restart can be seen: the daemon pets every half WatchdogSec
        // (Runtime::pet_watchdog), so its last WATCHDOG=1 came up to that long before the
        // freeze; systemd kills it WatchdogSec after that pet and starts it again RestartSec
        // later (300 ms); the new daemon's way to READY=1 only adds to it. Sooner was not the
        // watchdog (a crash is restarted after RestartSec alone).
        const double watchdog_sec = std::chrono::duration<double>(NspawnCluster::kWatchdog).count();
        const double earliest = watchdog_sec - watchdog_sec / 2 + restart_sec;
        INFO("RestartSec " << restart_sec << " s, earliest " << earliest << " s");
        CHECK(restarted_after >= earliest);
        std::string j1 = cluster.journal(kN1, kHad);
        CHECK_THAT(j1, Catch::Contains("Watchdog timeout"));
        CHECK_THAT(j1, Catch::Contains("Failed with result 'watchdog'"));
        REQUIRE(eventually([&] { return group_on(kN2, 3); }, 15s));
        CHECK(app_pid(kN2) == n2_app_pid);
        no_fence_attempts();

        // ---- 6. Reload with a broken file (a typo): refused, everything stays as it is.
        const std::string n2_pid = cluster.property(kN2, kHad, "MainPID");
        std::string broken = cluster.config_yaml(false);
        broken.replace(broken.find("failback:"), 9, "failbak:");
        cluster.write_file(kN2, "/etc/veeam-ha.yaml", broken, 0644);
        // `systemctl reload` checks the file before it signals the daemon: the job fails and
        // says why (file:line, in the unit's journal); the daemon is not even disturbed.
        base::ProcessResult bad_reload = cluster.systemctl(kN2, {"reload", "veeam-had"});
        CHECK_FALSE(bad_reload.success());
        CHECK_THAT(cluster.journal(kN2, kHad),
                   Catch::Contains("/etc/veeam-ha.yaml:21:3: policy.failbak: unknown key; did you mean 'failback'?") &&
                       Catch::Contains("Reload failed for veeam-had.service"));
        // A SIGHUP that bypasses the check (`kill -HUP`): the daemon checks again itself, keeps
        // the old configuration and says so.
        REQUIRE(cluster.systemctl(kN2, {"kill", "--kill-who=main", "--signal=SIGHUP", "veeam-had"}).success());
        REQUIRE(eventually(
            [&] {
                return cluster.journal(kN2, kHad).find("still running with the previous one") != std::string::npos;
            },
            10s));
        auto u2 = cluster.show(kN2, kHad, {"ActiveState", "SubState", "MainPID", "StatusText"});
        CHECK(u2["ActiveState"] == "active");
        CHECK(u2["SubState"] == "running");
        CHECK(u2["MainPID"] == n2_pid);
        CHECK(u2["StatusText"] == "active: group started (epoch 3)");
        CHECK(app_pid(kN2) == n2_app_pid);

        // ---- 7. Reload with a valid policy change on both: failback: true is applied live, and
        // the group goes back to the preferred n1 by a clean handover.
        for (int i : {kN1, kN2}) {
            cluster.write_file(i, "/etc/veeam-ha.yaml", cluster.config_yaml(true), 0644);
            base::ProcessResult reloaded = cluster.systemctl(i, {"reload", "veeam-had"});
            INFO(cluster.node(i) << ": " << reloaded.describe());
            CHECK(reloaded.success());
            CHECK_THAT(cluster.journal(i, kHad), Catch::Contains("configuration reloaded"));
        }
        CHECK(cluster.property(kN2, kHad, "MainPID") == n2_pid);
        REQUIRE(eventually([&] { return group_on(kN1, 4); }, 20s));
        no_fence_attempts();

        // ---- 8. The active host shuts down (`systemctl poweroff`, as for a kernel update):
        // systemd stops veeam-had before D-Bus and the network, so the daemon still stops its
        // service unit over D-Bus and hands the group over. Bounded: a daemon that could not
        // would go unclean and hold the shutdown until TimeoutStopSec (15 min).
        auto t_off = base::Clock::now();
        REQUIRE(cluster.power_off(kN1, 30s));
        std::cout << "n1 powered off in " << seconds_since(t_off) << " s" << std::endl;
        REQUIRE(eventually(
            [&] { return status_text(kN2) == "active: group started (epoch 5)" && app_state(kN2) == "active"; },
            15s));
        CHECK(cluster.has_floating_ip(kN2));
        CHECK(count(cluster.journal(kN2, kHad), "peer-left: n1 is shutting down cleanly") == 2);
        no_fence_attempts();

        // ---- 9. systemctl stop on the last node: no peer to hand to, the group is stopped in
        // reverse order and the daemon exits 0.
        REQUIRE(cluster.systemctl(kN2, {"stop", "veeam-had"}).success());
        auto u3 = cluster.show(kN2, kHad, {"ActiveState", "Result", "ExecMainStatus", "StatusText"});
        CHECK(u3["ActiveState"] == "inactive");
        CHECK(u3["Result"] == "success");
        CHECK(u3["ExecMainStatus"] == "0");
        CHECK(u3["StatusText"] == "stopped: group stopped");
        CHECK(app_state(kN2) == "inactive");
        CHECK_FALSE(cluster.has_floating_ip(kN2));
        no_fence_attempts();
        std::cout << "scenario done in " << seconds_since(t_start) << " s" << std::endl;
        // VEEAMHA_NSPAWN_DUMP=1: both journals and units even when everything passed.
        if (const char* dump = std::getenv("VEEAMHA_NSPAWN_DUMP"); dump && *dump == '1')
            std::cout << cluster.diagnostics() << std::endl;
    }
}

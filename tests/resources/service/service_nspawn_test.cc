// SPDX-License-Identifier: GPL-2.0-or-later
// ServiceResource against a real systemd: this machine's root booted read-only in a
// systemd-nspawn container (one per test case), driven from the host over the container's
// system bus. Units are written into the container's /run/systemd/system.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "daemon/resources/service/service_resource.h"
#include "daemon/resources/service/unit_order.h"
#include "tests/resources/service/nspawn_container.h"
#include "tests/common/skip.h"

using namespace veeamha;
using namespace veeamha::resources::service;
using veeamha::test::NspawnContainer;
using namespace std::chrono_literals;

#ifndef VEEAMHA_TEST_HELPER_DIR
#error "VEEAMHA_TEST_HELPER_DIR (folder of veeamha_test_notify) must be defined"
#endif

namespace {

base::OpContext ctx(std::chrono::milliseconds budget = 30s) {
    base::OpContext c;
    c.deadline = base::Clock::now() + budget;
    return c;
}

ServiceResource resource(const NspawnContainer& c, const std::string& unit) {
    return ServiceResource(config::ServiceSpec{unit}, ServiceOptions::on_bus(c.bus_address()));
}

// Polls `probe` until it returns true, at most `limit`.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds limit = 15s) {
    auto until = base::Clock::now() + limit;
    while (base::Clock::now() < until) {
        if (probe()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return probe();
}

#define SKIP_UNLESS_NSPAWN_RUNS()                                                   \
    do {                                                                            \
        std::string why = NspawnContainer::cannot_run_reason();                     \
        if (!why.empty()) VEEAMHA_SKIP_TEST(why);                                   \
    } while (0)

const char* kUnit = "org.freedesktop.systemd1.Unit";
const char* kSimpleUnit = "[Unit]\nDescription=veeam-had test: simple\n[Service]\nExecStart=/usr/bin/sleep infinity\n";

}  // namespace

TEST_CASE("simple unit: start, monitor, stop, monitor (system bus from DBUS_SYSTEM_BUS_ADDRESS)") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-simple.service", kSimpleUnit);

    // Default options: sd_bus_open_system(), which must follow the environment variable.
    REQUIRE(::setenv("DBUS_SYSTEM_BUS_ADDRESS", c.bus_address().c_str(), 1) == 0);
    ServiceResource svc(config::ServiceSpec{"vh-simple.service"});

    base::OpResult before = svc.monitor(ctx());
    INFO(before.reason);
    CHECK(before.outcome == base::Outcome::NotRunning);

    base::OpResult started = svc.start(ctx());
    INFO(started.reason);
    REQUIRE(started.is_ok());
    CHECK_THAT(started.reason, Catch::Contains("active (running)"));

    base::OpResult running = svc.monitor(ctx());
    INFO(running.reason);
    CHECK(running.is_ok());

    // Starting an active unit again is fine (the job finishes at once).
    CHECK(svc.start(ctx()).is_ok());

    base::OpResult stopped = svc.stop(ctx());
    INFO(stopped.reason);
    REQUIRE(stopped.is_ok());
    CHECK_THAT(stopped.reason, Catch::Contains("inactive (dead)"));

    base::OpResult after = svc.monitor(ctx());
    INFO(after.reason);
    CHECK(after.outcome == base::Outcome::NotRunning);
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

TEST_CASE("a unit that fails to start reports its Result and where to look") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-fail.service",
                   "[Service]\nType=oneshot\nExecStart=/usr/bin/sh -c 'echo veeamha-test-boom >&2; exit 3'\n");
    c.install_unit("vh-notify-dies.service",
                   "[Service]\nType=notify\nExecStart=/opt/veeamha-test/veeamha_test_notify 100 4\n");

    auto fail = resource(c, "vh-fail.service");
    base::OpResult r = fail.start(ctx());
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("job failed") && Catch::Contains("result exit-code") &&
                             Catch::Contains("see: journalctl -u vh-fail.service -n 20"));
    base::OpResult m = fail.monitor(ctx());
    INFO(m.reason);
    CHECK(m.outcome == base::Outcome::NotRunning);  // a failed unit runs nothing (base/resource.h)
    CHECK_THAT(m.reason, Catch::Contains("failed (failed)") && Catch::Contains("exit-code"));

    auto dies = resource(c, "vh-notify-dies.service");
    base::OpResult d = dies.start(ctx());
    INFO(d.reason);
    CHECK(d.outcome == base::Outcome::Failed);
    CHECK_THAT(d.reason, Catch::Contains("result exit-code"));

    // Stopping a failed unit is a clean stop: nothing of it runs.
    CHECK(fail.stop(ctx()).is_ok());
}

TEST_CASE("Type=notify: start returns once the service sent READY=1") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-notify.service",
                   "[Service]\nType=notify\nExecStart=/opt/veeamha-test/veeamha_test_notify 800\n"
                   "WatchdogSec=5\n");
    auto svc = resource(c, "vh-notify.service");
    base::OpResult r = svc.start(ctx());
    INFO(r.reason);
    REQUIRE(r.is_ok());
    // READY=1 and STATUS= arrive in one datagram: the status is there the moment start returns.
    CHECK(c.unit_property("vh-notify.service", "org.freedesktop.systemd1.Service", "StatusText") ==
          "veeamha-test ready");
    CHECK(svc.monitor(ctx()).is_ok());
    base::OpResult s = svc.stop(ctx());
    INFO(s.reason);
    CHECK(s.is_ok());
    CHECK(svc.monitor(ctx()).outcome == base::Outcome::NotRunning);
}

TEST_CASE("monitor after the main process is killed: SIGKILL fails, SIGTERM is a clean stop") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-simple.service", kSimpleUnit);
    auto svc = resource(c, "vh-simple.service");

    REQUIRE(svc.start(ctx()).is_ok());
    c.kill_unit("vh-simple.service", SIGKILL);
    base::OpResult killed;
    REQUIRE(eventually([&] {
        killed = svc.monitor(ctx());
        return !killed.is_ok();
    }));
    INFO(killed.reason);
    CHECK(killed.outcome == base::Outcome::NotRunning);  // dead, and systemd says why
    CHECK_THAT(killed.reason, Catch::Contains("result signal") && Catch::Contains("journalctl -u vh-simple.service"));

    REQUIRE(svc.start(ctx()).is_ok());
    c.kill_unit("vh-simple.service", SIGTERM);
    base::OpResult termed;
    REQUIRE(eventually([&] {
        termed = svc.monitor(ctx());
        return !termed.is_ok();
    }));
    INFO(termed.reason);
    CHECK(termed.outcome == base::Outcome::NotRunning);
}

TEST_CASE("start is bounded by the deadline and stop cancels the pending start") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-slow.service",
                   "[Service]\nType=notify\nTimeoutStartSec=120\n"
                   "ExecStart=/opt/veeamha-test/veeamha_test_notify 60000\n");
    auto svc = resource(c, "vh-slow.service");
    auto t0 = base::Clock::now();
    base::OpResult r = svc.start(ctx(1500ms));
    auto took = base::Clock::now() - t0;
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::TimedOut);
    CHECK_THAT(r.reason, Catch::Contains("still running at the deadline"));
    CHECK(took < 10s);  // generous: the deadline was 1.5 s

    base::OpResult m = svc.monitor(ctx());
    INFO(m.reason);
    CHECK(m.outcome == base::Outcome::Failed);  // activating (start) is not healthy
    CHECK_THAT(m.reason, Catch::Contains("activating"));

    base::OpResult s = svc.stop(ctx());
    INFO(s.reason);
    CHECK(s.is_ok());
    CHECK(svc.monitor(ctx()).outcome == base::Outcome::NotRunning);
}

TEST_CASE("unknown unit: start fails with systemd's reason, stop is a no-op, monitor not running") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    auto svc = resource(c, "vh-does-not-exist.service");
    base::OpResult r = svc.start(ctx());
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("vh-does-not-exist.service") && Catch::Contains("not found"));
    base::OpResult s = svc.stop(ctx());
    INFO(s.reason);
    CHECK(s.is_ok());
    base::OpResult m = svc.monitor(ctx());
    INFO(m.reason);
    CHECK(m.outcome == base::Outcome::NotRunning);
    CHECK_THAT(m.reason, Catch::Contains("no such unit file"));
}

TEST_CASE("the resource reconnects after the container's dbus-daemon restarts") {
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-simple.service", kSimpleUnit);
    auto svc = resource(c, "vh-simple.service");
    REQUIRE(svc.start(ctx()).is_ok());
    REQUIRE(svc.monitor(ctx()).is_ok());  // the connection is open now

    uint32_t old_bus_pid = c.main_pid("dbus.service");
    REQUIRE(old_bus_pid != 0);
    c.queue_job("RestartUnit", "dbus.service");
    // Wait (through fresh connections) until a new dbus-daemon runs: the resource's connection
    // died with the old one.
    uint32_t new_bus_pid = 0;
    REQUIRE(eventually(
        [&] {
            try {
                new_bus_pid = c.main_pid("dbus.service");
            } catch (const std::exception&) {
                return false;
            }
            return new_bus_pid != 0 && new_bus_pid != old_bus_pid;
        },
        30s));
    // The same resource object must come back by itself (systemd re-registers on the new bus
    // shortly after it starts).
    base::OpResult last;
    bool recovered = eventually(
        [&] {
            last = svc.monitor(ctx(5s));
            return last.is_ok();
        },
        30s);
    INFO(last.reason);
    CHECK(recovered);
    CHECK(svc.stop(ctx()).is_ok());
}

TEST_CASE("shutdown order: the unit stops after the daemon's unit, and the daemon's own stop is not held by it") {
    // vh-owner.service stands in for veeam-had.service; its stop takes 30 s (a daemon handing
    // the group over). At shutdown systemd queues a stop job for every unit at once: the order
    // drop-in must keep vh-app.service running until the owner has stopped, and the resource's
    // own stop, issued while the owner is stopping, must not wait for the owner (it would with
    // StopUnit mode "replace": its job merges into the waiting one and inherits its order).
    SKIP_UNLESS_NSPAWN_RUNS();
    NspawnContainer c(VEEAMHA_TEST_HELPER_DIR);
    c.install_unit("vh-owner.service", "[Service]\nExecStart=/usr/bin/sleep infinity\n"
                                       "ExecStop=/usr/bin/sleep 30\nTimeoutStopSec=60\n");
    c.install_unit("vh-app.service", kSimpleUnit);
    auto options = ServiceOptions::on_bus(c.bus_address());
    options.order_before = "vh-owner.service";
    options.unit_dir = c.host_path("/run/systemd/system");
    ServiceResource svc(config::ServiceSpec{"vh-app.service"}, options);
    c.queue_job("StartUnit", "vh-owner.service");
    REQUIRE(eventually([&] { return c.unit_property("vh-owner.service", kUnit, "ActiveState") == "active"; }));

    // The drop-in is there but systemd never loaded it (a daemon killed between writing it and
    // reloading systemd): the first probe finds it unloaded and reloads systemd. (The unit runs,
    // so systemd keeps it loaded: an unloaded unit is read afresh with its drop-ins.)
    c.queue_job("StartUnit", "vh-app.service");
    REQUIRE(eventually([&] { return c.unit_property("vh-app.service", kUnit, "ActiveState") == "active"; }));
    std::string error;
    REQUIRE(ensure_order_dropin(options.unit_dir, "vh-app.service", "vh-owner.service", error) ==
            DropinWrite::Written);
    auto ordered = [&] {
        auto before = c.unit_list_property("vh-app.service", "Before");
        return std::find(before.begin(), before.end(), "vh-owner.service") != before.end();
    };
    REQUIRE_FALSE(ordered());
    CHECK(svc.monitor(ctx()).is_ok());
    CHECK(ordered());
    REQUIRE(svc.start(ctx()).is_ok());

    // Shutdown: the owner's stop runs, the app's waits for it.
    c.queue_job("StopUnit", "vh-owner.service");
    REQUIRE(eventually([&] { return c.unit_property("vh-owner.service", kUnit, "ActiveState") == "deactivating"; }));
    c.queue_job("StopUnit", "vh-app.service");
    base::OpResult still = svc.monitor(ctx());
    INFO(still.reason);
    CHECK(still.is_ok());  // not stopped behind the owner's back

    // The owner (the daemon) stops the app itself, in its turn, without waiting for its own stop.
    base::OpResult stopped = svc.stop(ctx(10s));  // the owner's stop takes 30 s
    INFO(stopped.reason);
    CHECK(stopped.is_ok());
    CHECK(c.unit_property("vh-app.service", kUnit, "ActiveState") == "inactive");
    CHECK(c.unit_property("vh-owner.service", kUnit, "ActiveState") == "deactivating");
    c.kill_unit("vh-owner.service", SIGKILL, "all");  // no 30 s wait in the container's poweroff
}

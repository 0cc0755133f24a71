// SPDX-License-Identifier: GPL-2.0-or-later
// What status shows of a failure after the recovery succeeded: the engine keeps each resource's
// last error with its time and the failed actions (resource, operation, result, time, count)
// until `cleanup`, not only until the next successful start. Both real engines in the
// simulated world.
#include <catch2/catch.hpp>

#include "tests/sim/world.h"

using namespace veeamha;
using namespace veeamha::sim;

TEST_CASE("a monitor failure stays in status after the restart, until cleanup") {
    World::Options o;
    o.seed = 5;
    World w(sim_config(), o);
    w.start_daemon(0);
    w.start_daemon(1);
    const size_t svc = 3;
    auto running = [&] {
        const auto& e = w.node(0).engine;
        return e && e->holding() && e->group_state() == engine::GroupState::Started;
    };
    REQUIRE(w.run_until(30000, running));
    CHECK(w.node(0).engine->failed_actions().empty());

    w.kill_resource(0, svc);
    REQUIRE(w.run_until(w.now() + 10000, [&] { return w.node(0).engine->fail_count(svc) == 1; }));
    REQUIRE(w.run_until(w.now() + 10000, running));  // restarted in place, successfully
    w.run_until(w.now() + 5000);                      // and monitored fine since

    const engine::Engine& e = *w.node(0).engine;
    CHECK(e.resources()[svc].state == engine::ResourceState::Started);
    CHECK(e.fail_count(svc) == 1);
    CHECK(e.resources()[svc].last_error.rfind("monitor ", 0) == 0);
    CHECK(e.resources()[svc].last_error_wall > 0);
    REQUIRE(e.failed_actions().size() == 1);
    const engine::FailedAction a = e.failed_actions()[0];  // a copy: the list changes below
    CHECK(a.index == svc);
    CHECK(a.operation == "monitor");
    // The event says which operation failed (alert programs get it as CRM_alert_task).
    CHECK(w.counters()["op-of:resource-failed:monitor"] == 1);
    CHECK(w.counters()["event:resource-failed"] == 1);
    CHECK(a.outcome != engine::Outcome::Ok);
    CHECK(a.count == 1);
    CHECK(a.wall == e.resources()[svc].last_error_wall);

    // The same failure again: one entry, counted twice, with the newer time.
    w.kill_resource(0, svc);
    REQUIRE(w.run_until(w.now() + 10000, [&] { return w.node(0).engine->fail_count(svc) == 2; }));
    REQUIRE(w.run_until(w.now() + 10000, running));
    REQUIRE(w.node(0).engine->failed_actions().size() == 1);
    CHECK(w.node(0).engine->failed_actions()[0].count == 2);
    CHECK(w.node(0).engine->failed_actions()[0].wall > a.wall);

    // cleanup of another resource leaves it; cleanup of this one clears all of it.
    w.admin(0, engine::AdminVerb::Cleanup, "fs");
    CHECK(w.node(0).engine->failed_actions().size() == 1);
    w.admin(0, engine::AdminVerb::Cleanup, "svc");
    CHECK(w.node(0).engine->failed_actions().empty());
    CHECK(w.node(0).engine->resources()[svc].last_error.empty());
    CHECK(w.node(0).engine->fail_count(svc) == 0);
}

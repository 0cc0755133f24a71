// SPDX-License-Identifier: GPL-2.0-or-later
// Every named scenario of the engine, deterministic, each checking its outcome and its timeline
// against tests/testdata/scenarios/NAME.timeline (`veeam-ha-sim --scenarios --rewrite` to
// accept an intended change; review the diff).
#include <catch2/catch.hpp>

#include <algorithm>

#include "tests/sim/random_run.h"
#include "tests/sim/scenarios.h"

using namespace veeamha::sim;

namespace {

void check(const std::string& name) {
    ScenarioResult r = run_scenario(name, VEEAMHA_GOLDEN_DIR, false);
    INFO("timeline:\n" << r.timeline);
    for (const auto& f : r.failures) FAIL_CHECK(f);
    if (!r.golden_diff.empty()) FAIL_CHECK(r.golden_diff);
    CHECK(r.passed());
}

const char* const kScenarios[] = {
    "crash-of-active", "crash-of-passive", "full-partition", "passive-isolated", "active-isolated",
    "one-link-down", "flapping-link", "asymmetric-loss", "fence-fails-then-succeeds",
    "fence-hangs", "fence-always-fails", "monitor-failure-then-handover", "stop-failure-unclean",
    "planned-move", "standby-of-active", "maintenance-mode", "cold-start-both", "cold-start-alone",
    "cold-start-partitioned", "rebooted-node-rejoins-passive", "failback-true",
    "daemon-restart-keeps-group", "confirm-fenced-by-admin", "confirm-fenced-refused-for-live-unclean",
    "sigterm-hands-over", "sigterm-with-failing-stop"};

}  // namespace

TEST_CASE("every registered scenario has a test here") {
    auto names = scenario_names();
    CHECK(names.size() == std::size(kScenarios));
    for (const char* n : kScenarios) CHECK(std::find(names.begin(), names.end(), n) != names.end());
}

#define SCENARIO_TEST(name) TEST_CASE("scenario " name) { check(name); }
SCENARIO_TEST("crash-of-active")
SCENARIO_TEST("crash-of-passive")
SCENARIO_TEST("full-partition")
SCENARIO_TEST("passive-isolated")
SCENARIO_TEST("active-isolated")
SCENARIO_TEST("one-link-down")
SCENARIO_TEST("flapping-link")
SCENARIO_TEST("asymmetric-loss")
SCENARIO_TEST("fence-fails-then-succeeds")
SCENARIO_TEST("fence-hangs")
SCENARIO_TEST("fence-always-fails")
SCENARIO_TEST("monitor-failure-then-handover")
SCENARIO_TEST("stop-failure-unclean")
SCENARIO_TEST("planned-move")
SCENARIO_TEST("standby-of-active")
SCENARIO_TEST("maintenance-mode")
SCENARIO_TEST("cold-start-both")
SCENARIO_TEST("cold-start-alone")
SCENARIO_TEST("cold-start-partitioned")
SCENARIO_TEST("rebooted-node-rejoins-passive")
SCENARIO_TEST("failback-true")
SCENARIO_TEST("daemon-restart-keeps-group")
SCENARIO_TEST("confirm-fenced-by-admin")
SCENARIO_TEST("confirm-fenced-refused-for-live-unclean")
SCENARIO_TEST("sigterm-hands-over")
SCENARIO_TEST("sigterm-with-failing-stop")

TEST_CASE("one seed always replays the same run") {
    for (uint64_t seed : {3u, 77u, 1234u}) {
        RunOptions o;
        o.seed = seed;
        o.trace = true;
        RunResult a = run_seed(o), b = run_seed(o);
        INFO("seed " << seed);
        CHECK(a.passed);
        CHECK(!a.timeline.empty());
        CHECK(a.timeline == b.timeline);
        CHECK(a.faults == b.faults);
    }
}

// SPDX-License-Identifier: GPL-2.0-or-later
// Every named scenario of the engine, deterministic, each checking its outcome and its timeline
// against tests/testdata/scenarios/NAME.timeline (`veeam-ha-sim --scenarios --rewrite` to
// accept an intended change; review the diff). The list of scenarios is scenarios.cc's registry
// and nothing else: this file runs whatever it holds, and every golden file must belong to one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "tests/sim/random_run.h"
#include "tests/sim/scenarios.h"

using namespace veeamha::sim;

TEST_CASE("every named scenario passes and matches its golden timeline") {
    const std::string name = GENERATE(from_range(scenario_names()));
    DYNAMIC_SECTION("scenario " << name) {
        ScenarioResult r = run_scenario(name, VEEAMHA_GOLDEN_DIR, false);
        INFO("timeline:\n" << r.timeline);
        for (const auto& f : r.failures) FAIL_CHECK(f);
        if (!r.golden_diff.empty()) FAIL_CHECK(r.golden_diff);
        CHECK(r.passed());
    }
}

TEST_CASE("every golden timeline belongs to a registered scenario") {
    auto names = scenario_names();
    CHECK(names.size() >= 26);
    for (const auto& entry : std::filesystem::directory_iterator(VEEAMHA_GOLDEN_DIR)) {
        std::string file = entry.path().filename().string();
        INFO(file << ": no scenario of that name (remove the file, or register the scenario)");
        REQUIRE(entry.path().extension() == ".timeline");
        CHECK(std::find(names.begin(), names.end(), entry.path().stem().string()) != names.end());
    }
}

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

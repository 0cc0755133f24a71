// SPDX-License-Identifier: GPL-2.0-or-later
// Named, deterministic scenarios (docs/design.md §3 rules 1-7 one by one). Each one scripts faults and
// admin commands into a World with fixed latencies, checks its outcome, and produces a timeline
// that is compared with a golden file under tests/testdata/scenarios/ (rewrite them with
// `veeam-ha-sim --scenarios --rewrite` after an intended change, and review the diff).
#pragma once

#include <string>
#include <vector>

#include "daemon/engine/mutants.h"

namespace veeamha::sim {

struct ScenarioResult {
    std::string name;
    std::vector<std::string> failures;  // empty = passed
    std::string violation;              // an invariant the world's checker found broken
    std::string timeline;
    std::string golden_diff;            // empty = matches the golden file (or rewritten)
    bool passed() const { return failures.empty() && golden_diff.empty(); }
};

std::vector<std::string> scenario_names();
// golden_dir: where NAME.timeline lives; rewrite: write the timeline there instead of comparing.
// With a planted bug (daemon/engine/mutants.h) pass golden_dir "" (its timeline differs anyway).
ScenarioResult run_scenario(const std::string& name, const std::string& golden_dir, bool rewrite,
                            engine::Mutant mutant = engine::Mutant::None);

}  // namespace veeamha::sim

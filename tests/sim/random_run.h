// SPDX-License-Identifier: GPL-2.0-or-later
// One seeded run of the simulated cluster: a safety phase of random faults, then a liveness
// phase where every fault is healed and the group must run somewhere within a bound derived
// from the configured timeouts. Swarm testing: the seed also draws the configuration (links,
// priorities, fencing action and delay, ping targets, startup fencing, two nodes with different
// files) and which kinds of fault this run uses, with what weights, so that rare combinations
// get whole runs to themselves. The same seed always replays the same run.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "daemon/engine/engine.h"

namespace veeamha::sim {

struct RunOptions {
    uint64_t seed = 1;
    bool trace = false;               // keep the timeline (for printing a failure)
    engine::Mutant mutant = engine::Mutant::None;  // a planted bug (daemon/engine/mutants.h)
    bool check_protocol = true;       // the start and acquisition checks, not only invariant 1
    engine::Millis fault_phase = 60000;
};

struct RunResult {
    bool passed = true;
    std::string violation;
    std::string timeline;                      // when trace was on
    std::map<std::string, int> faults;         // fault class -> how many were injected
    std::map<std::string, int> events;         // engine event kinds seen
    engine::Millis recovered_after = -1;       // liveness: group running this long after healing
    std::string profile;                       // config variant of this seed
};

RunResult run_seed(const RunOptions& options);

}  // namespace veeamha::sim

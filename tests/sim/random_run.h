// SPDX-License-Identifier: GPL-2.0-or-later
// One seeded run of the simulated cluster: a safety phase of random faults (network, machines,
// daemons, resources, vCenter, admin commands), then a liveness phase where every fault is
// healed and the group must run somewhere within a bound derived from the configured timeouts.
// The same seed always replays the same run.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "daemon/engine/engine.h"

namespace veeamha::sim {

struct RunOptions {
    uint64_t seed = 1;
    bool trace = false;               // keep the timeline (for printing a failure)
    bool unsafe = false;              // engine with the test-only unsafe takeover rule
    bool check_protocol = true;       // invariants 2 and 3 (the start checks)
    engine::Millis fault_phase = 40000;
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

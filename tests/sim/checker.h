// SPDX-License-Identifier: GPL-2.0-or-later
// Invariants, checked against the simulated world's truth (what is really active where), not
// against what the engines believe (docs/design.md §7).
#pragma once

#include <string>

namespace veeamha::sim {

class World;

// After every event: (1) never is any resource of the group active on both nodes;
// (5) no failback without a cause when policy.failback is false.
std::string check_world(World& world);

// When `node` starts its first resource with nothing active: (2) it holds a fresh epoch obtained
// by a grant the peer really persisted, the peer's clean exit, a power-off of the peer really
// confirmed, or an admin confirm-fenced; (3) the peer has not told it that it is unclean
// (alive with a failed stop) without being fenced since.
std::string check_cold_start(World& world, int node);

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
// Invariants, checked against the simulated world's truth and durable state — what is active on
// which machine and who made it active, what is on each disk, which machine has power, what
// the fencer and the admin really did — not against what the engines believe. One rule is
// about knowledge instead: a node never takes the group while it knows its peer holds it.
//
// Some inputs the engine cannot tell from the truth: a fence that lies, an admin's
// confirm-fenced for a node that runs, `startup_fencing: false`. After one of them the world
// is in "unsafe" mode and the check changes from "never" to "detected and ended in time".
#pragma once

#include <string>

#include "daemon/engine/types.h"

namespace veeamha::sim {

class World;

// After every event:
//  1. never is anything a daemon started active on both nodes (unsafe mode: not once every
//     fault is healed, see run_seed's liveness phase);
//  5. no failback without a cause when policy.failback is false;
//  6. a process a fence lied about, heard again for four heartbeat timeouts, has been reported
//     by the node it deceived (event fence-lied).
std::string check_world(World& world);

// When `node` starts resource `run.index`:
//  2. its disk, not its memory, holds the epoch it starts under, owned by itself;
//  3. its peer has nothing active that a daemon started (and, as far as this node knows,
//     nothing at all), and is not alive and unclean;
//  and when it starts the group from cold: the epoch is new and was obtained by a grant the
//  peer persisted, the peer's clean exit, a power-off of the peer that really happened, a
//  read of the peer as powered off while it was, or an admin's confirm-fenced.
std::string check_start(World& world, int node, const engine::Run& run);

// When `node`'s engine comes to hold the group:
//  4. the epoch is held by no other node, ever;
//  7. an adoption takes over only what a daemon of this node started in this same boot;
//  9. never while it knows that its peer holds the group.
std::string check_acquisition(World& world, int node);

// When `node` asks for a fence (off or reboot):
//  8. no fence loop: a node that booted after its peer fenced it never fences that peer
//     before it has heard it.
std::string check_fence_request(World& world, int node);

// A few heartbeats after every fault is healed, before the admin touches anything:
//  10. both nodes agree on maintenance mode.
std::string check_converged(World& world);

// Once the group runs steadily after the faults:
//  11. nothing is active anywhere but on the node running the group.
std::string check_settled(World& world);

}  // namespace veeamha::sim

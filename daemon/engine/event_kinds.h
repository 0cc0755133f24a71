// SPDX-License-Identifier: GPL-2.0-or-later
// Every Event::kind the engine emits, known in advance so that /metrics can show a counter for
// each one at 0 before it first happens (a rate over a series that appears only with its first
// event misses that event). tests/runtime/metrics_test.cc reads the engine's sources and fails
// when an event() call names a kind missing here.
#pragma once

#include <array>

namespace veeamha::engine {

inline constexpr std::array<const char*, 45> kEventKinds = {
    "abandoned-returned", "adopt", "cleanup", "config-mismatch", "exit", "failures-expired",
    "fence-delay", "fence-failed", "fence-lied", "fence-request", "fenced",
    "found-active-at-boot", "grant", "group-started", "isolated", "isolation-ended",
    "maintenance", "monitor-failed", "move", "move-cancelled", "peer-back", "peer-joined",
    "peer-left", "peer-lost", "peer-off", "power-on-failed", "powered-on", "probed", "release",
    "reprobe", "resource-failed", "resource-start", "resource-started", "resource-stop",
    "resource-stopped", "resumed", "shutdown", "split-brain", "standby", "start",
    "start-abandoned", "takeover", "unclean", "unstandby", "waiting-for-peer",
};

}  // namespace veeamha::engine

// SPDX-License-Identifier: GPL-2.0-or-later
// Every Event::kind the engine emits, known in advance: /metrics shows a counter for each one at
// 0 before it first happens (a rate over a series that appears only with its first event misses
// that event), and `alerts[].events` is checked against it. It lives below the engine so that
// the configuration can name the kinds. tests/runtime/metrics_test.cc reads the engine's sources
// and fails when an event() call names a kind missing here.
#pragma once

#include <array>
#include <string_view>

namespace veeamha::config {

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

// Event kinds the daemon's runtime emits itself, not the engine: a failed fencing check, and
// drift between the two hosts found by the peer check. Also selectable in alerts[].events.
inline constexpr std::array<const char*, 4> kRuntimeEventKinds = {"fencing-check", "peer-drift", "sync-failed",
                                                                  "sync-overwritten"};

// The class of an event, as Pacemaker's alert agents know them (CRM_alert_kind): what happened
// to a fence, to a resource, or else to a node (membership, ownership, the group).
inline constexpr std::array<const char*, 8> kFencingEvents = {
    "fence-delay", "fence-failed", "fence-lied", "fence-request",
    "fenced", "peer-off", "power-on-failed", "powered-on",
};
inline constexpr std::array<const char*, 9> kResourceEvents = {
    "abandoned-returned", "found-active-at-boot", "monitor-failed", "resource-failed", "resource-start",
    "resource-started", "resource-stop", "resource-stopped", "start-abandoned",
};

inline std::string_view event_class(std::string_view kind) {
    for (const char* k : kFencingEvents)
        if (kind == k) return "fencing";
    for (const char* k : kResourceEvents)
        if (kind == k) return "resource";
    return "node";
}

}  // namespace veeamha::config

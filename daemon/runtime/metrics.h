// SPDX-License-Identifier: GPL-2.0-or-later
// GET /metrics: what the daemon knows, in the Prometheus text exposition format (0.0.4). The
// runtime fills a MetricsSnapshot on its loop; render_metrics() turns it into text, one group
// per family with its HELP and TYPE, every series labelled with cluster and node (one dashboard
// and one rules file serve many clusters whatever the scrape configuration calls the targets).
// Every label value that can be known in advance gets its series from the start: counters at
// 0, enumerations (node, group, peer and resource states) with every state at 0 or 1. The
// README's "Operations" section lists every family; tests/runtime/metrics_test.cc checks the
// text with the real promtool.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/event_kinds.h"
#include "daemon/engine/types.h"

namespace veeamha::runtime {

// Event kinds the runtime emits itself (besides the engine's): config/event_kinds.h.
using config::kRuntimeEventKinds;

// This node, as `veeam-hactl status` names it.
enum class NodeRole { Active, Passive, Unclean };
// The peer as this node sees it (engine::Membership, plus "fencing" while a fence runs).
enum class PeerState { Unknown, Up, Lost, Fencing, Fenced, Left };

struct MetricsSnapshot {
    std::string cluster, node, version;
    double process_start_seconds = 0;  // unix time

    NodeRole role = NodeRole::Passive;
    bool holding = false, standby = false, maintenance = false, unclean = false;
    uint64_t epoch = 0;
    engine::GroupState group = engine::GroupState::Unknown;

    PeerState peer = PeerState::Unknown;
    // The peer runs with another cluster configuration (its digest differs from ours).
    bool config_mismatch = false;

    struct Link {
        bool up = false;
        std::optional<double> rtt_seconds;  // none until a round trip was measured
        double loss = 0;                    // 0..1 over the recent window
    };
    std::vector<Link> links;  // by link index

    struct Resource {
        std::string name;
        engine::ResourceState state = engine::ResourceState::Unknown;
        uint32_t failures = 0;  // counted against migration_threshold
    };
    std::vector<Resource> resources;

    std::map<std::string, uint64_t> events;                       // by kind, as counted
    std::vector<std::pair<std::string, uint64_t>> frames_dropped;  // every reason, in order
    uint64_t alerts_dropped = 0;

    struct Stamped {
        double at_seconds = 0;  // unix time
        bool ok = false;
        double duration_seconds = 0;
    };
    std::optional<Stamped> fencing_check;  // ok, at: none before the first check
    std::optional<Stamped> last_failover;  // at, duration: none before the first (persisted)
    std::optional<Stamped> last_fence;     // at, duration: none since start
    Stamped last_reload;                   // ok, at: the load at start counts as one

    // sync: every synced file (or refused entry) and its state: "in-sync", "pending",
    // "failed", "refused" (daemon/runtime/sync/service.h), and since when (unix time).
    struct SyncFile {
        std::string path;
        std::string state;
        double since_seconds = 0;
    };
    std::vector<SyncFile> sync_files;
    double now_seconds = 0;  // for the age of pending files

    // The last peer check (veeam-hactl check --peer): per item kind, whether anything of that
    // kind differs; empty before the first check that reached the peer.
    std::vector<std::pair<std::string, bool>> peer_drift;
};

std::string render_metrics(const MetricsSnapshot& snapshot);

const char* to_string(NodeRole role);
const char* to_string(PeerState state);

}  // namespace veeamha::runtime

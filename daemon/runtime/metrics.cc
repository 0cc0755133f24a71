// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "config/event_kinds.h"

namespace veeamha::runtime {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values and HELP text escape backslash and newline; label values also the double quote.
std::string escape(const std::string& s, bool quote) {
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (quote && c == '"') out += "\\\"";
        else out += c;
    }
    return out;
}

// The shortest text that reads back as the same double ("1", "0.25", "1764650000.123").
std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    for (int precision : {15, 17}) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

// Writes one family at a time: its HELP and TYPE, then its samples, so that a family is never
// split (the exposition format requires one group per metric name).
class Writer {
public:
    explicit Writer(Labels common) : common_(std::move(common)) {}

    void family(const std::string& name, const char* type, const std::string& help) {
        name_ = name;
        out_ += "# HELP " + name + " " + escape(help, false) + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(double value, const Labels& extra = {}) {
        out_ += name_ + "{";
        bool first = true;
        for (const Labels* set : {static_cast<const Labels*>(&common_), &extra})
            for (const auto& [k, v] : *set) {
                out_ += (first ? "" : ",") + k + "=\"" + escape(v, true) + "\"";
                first = false;
            }
        out_ += "} " + number(value) + "\n";
    }
    // An enumeration: one series per possible state, 1 for the current one and 0 for the others
    // (a query or an alert never meets a missing series when the state changes).
    template <typename Enum, size_t N>
    void states(const std::array<Enum, N>& all, Enum current, Labels extra = {}) {
        extra.emplace_back("state", "");
        for (Enum s : all) {
            extra.back().second = to_string(s);
            sample(s == current ? 1 : 0, extra);
        }
    }
    std::string text() && { return std::move(out_); }

private:
    Labels common_;
    std::string name_;
    std::string out_;
};

constexpr std::array<NodeRole, 3> kRoles = {NodeRole::Active, NodeRole::Passive, NodeRole::Unclean};
constexpr std::array<PeerState, 6> kPeerStates = {PeerState::Unknown, PeerState::Up, PeerState::Lost,
                                                  PeerState::Fencing, PeerState::Fenced, PeerState::Left};
constexpr std::array<engine::GroupState, 7> kGroupStates = {
    engine::GroupState::Unknown, engine::GroupState::Stopped, engine::GroupState::Starting,
    engine::GroupState::Started, engine::GroupState::Stopping, engine::GroupState::Failed,
    engine::GroupState::Unclean};
constexpr std::array<engine::ResourceState, 7> kResourceStates = {
    engine::ResourceState::Unknown, engine::ResourceState::Stopped, engine::ResourceState::Starting,
    engine::ResourceState::Started, engine::ResourceState::Stopping, engine::ResourceState::Failed,
    engine::ResourceState::StopFailed};

using engine::to_string;

void render_node(Writer& w, const MetricsSnapshot& s) {
    w.family("veeamha_build_info", "gauge", "always 1; the version of veeam-had in the label");
    w.sample(1, {{"version", s.version}});
    w.family("process_start_time_seconds", "gauge", "start time of the process since the unix epoch in seconds");
    w.sample(s.process_start_seconds);
    w.family("veeamha_node_state", "gauge", "1 for this node's state (active, passive, unclean), 0 for the others");
    w.states(kRoles, s.role);
    w.family("veeamha_holding", "gauge", "1 if this node holds (runs) the resource group");
    w.sample(s.holding);
    w.family("veeamha_standby", "gauge", "1 if this node is in standby");
    w.sample(s.standby);
    w.family("veeamha_epoch", "gauge", "ownership epoch known to this node");
    w.sample(static_cast<double>(s.epoch));
    w.family("veeamha_maintenance", "gauge", "1 while maintenance mode is on");
    w.sample(s.maintenance);
    w.family("veeamha_unclean", "gauge", "1 if a stop failed on this node (it must be fenced or cleaned up)");
    w.sample(s.unclean);
    w.family("veeamha_group_state", "gauge", "1 for the state of the resource group on this node, 0 for the others");
    w.states(kGroupStates, s.group);
}

void render_peer(Writer& w, const MetricsSnapshot& s) {
    w.family("veeamha_peer_up", "gauge", "1 if the peer is heard on at least one link");
    w.sample(s.peer == PeerState::Up);
    w.family("veeamha_peer_state", "gauge",
             "1 for the peer's state as this node sees it (unknown, up, lost, fencing, fenced, left), "
             "0 for the others");
    w.states(kPeerStates, s.peer);
    w.family("veeamha_config_mismatch", "gauge", "1 if the peer runs with a different cluster configuration");
    w.sample(s.config_mismatch);
    w.family("veeamha_link_up", "gauge", "1 if heartbeats from the peer arrive on this link");
    for (size_t l = 0; l < s.links.size(); ++l) w.sample(s.links[l].up, {{"link", std::to_string(l)}});
    w.family("veeamha_link_rtt_seconds", "gauge", "smoothed heartbeat round-trip time (no sample before the first)");
    for (size_t l = 0; l < s.links.size(); ++l)
        if (s.links[l].rtt_seconds) w.sample(*s.links[l].rtt_seconds, {{"link", std::to_string(l)}});
    w.family("veeamha_link_loss_ratio", "gauge", "heartbeat loss over the recent window");
    for (size_t l = 0; l < s.links.size(); ++l) w.sample(s.links[l].loss, {{"link", std::to_string(l)}});
}

void render_resources(Writer& w, const MetricsSnapshot& s) {
    w.family("veeamha_resource_started", "gauge", "1 if the resource runs on this node");
    for (const auto& r : s.resources) w.sample(r.state == engine::ResourceState::Started, {{"resource", r.name}});
    w.family("veeamha_resource_state", "gauge", "1 for the resource's state on this node, 0 for the others");
    for (const auto& r : s.resources) w.states(kResourceStates, r.state, {{"resource", r.name}});
    w.family("veeamha_resource_failures", "gauge",
             "recent failures counted against migration_threshold (reset by cleanup or failure_timeout)");
    for (const auto& r : s.resources) w.sample(r.failures, {{"resource", r.name}});
}

void render_history(Writer& w, const MetricsSnapshot& s) {
    w.family("veeamha_fencing_check_ok", "gauge",
             "1 if the last fencing check could read the peer's power state through the fencers "
             "(no sample before the first check)");
    if (s.fencing_check) w.sample(s.fencing_check->ok);
    w.family("veeamha_fencing_check_timestamp_seconds", "gauge", "when the last fencing check ended");
    if (s.fencing_check) w.sample(s.fencing_check->at_seconds);
    w.family("veeamha_last_failover_timestamp_seconds", "gauge",
             "when the group last finished starting on this node after a failover (kept across restarts)");
    if (s.last_failover) w.sample(s.last_failover->at_seconds);
    w.family("veeamha_last_failover_duration_seconds", "gauge",
             "how long the last failover to this node took, from the decision to the group started");
    if (s.last_failover) w.sample(s.last_failover->duration_seconds);
    w.family("veeamha_last_fence_timestamp_seconds", "gauge",
             "when this node last confirmed the peer powered off (since it started)");
    if (s.last_fence) w.sample(s.last_fence->at_seconds);
    w.family("veeamha_last_fence_duration_seconds", "gauge",
             "how long the fence that confirmed the last power-off took, from the call to the power "
             "state read back as off");
    if (s.last_fence) w.sample(s.last_fence->duration_seconds);
    w.family("veeamha_last_reload_success", "gauge",
             "1 if the last configuration load (at start or on reload) was applied, 0 if it had "
             "errors and the previous one stays");
    w.sample(s.last_reload.ok);
    w.family("veeamha_last_reload_timestamp_seconds", "gauge",
             "when the configuration was last loaded (at start or on reload)");
    w.sample(s.last_reload.at_seconds);
    w.family("veeamha_sync_file_ok", "gauge",
             "1 if this sync: file is the same on both nodes (as this node knows), 0 while pending, "
             "failed or refused");
    for (const auto& f : s.sync_files) w.sample(f.state == "in-sync", {{"path", f.path}});
    std::map<std::string, double> by_state{{"in-sync", 0}, {"pending", 0}, {"failed", 0}, {"refused", 0}};
    double oldest = 0;
    for (const auto& f : s.sync_files) {
        by_state[f.state] += 1;
        if (f.state == "pending") oldest = std::max(oldest, s.now_seconds - f.since_seconds);
    }
    w.family("veeamha_sync_files", "gauge", "sync: files by state (in-sync, pending, failed, refused)");
    for (const auto& [state, n] : by_state) w.sample(n, {{"state", state}});
    w.family("veeamha_sync_oldest_pending_seconds", "gauge",
             "how long the oldest pending sync: file has waited to be the same on both nodes (0: none)");
    w.sample(oldest);
    w.family("veeamha_peer_drift", "gauge",
             "1 if the last peer check found this kind of item different on the two nodes "
             "(veeam-hactl check --peer says what and how to fix it)");
    for (const auto& [kind, differs] : s.peer_drift) w.sample(differs, {{"item", kind}});
}

void render_counters(Writer& w, const MetricsSnapshot& s) {
    std::map<std::string, uint64_t> events;
    for (const char* k : config::kEventKinds) events[k] = 0;
    for (const char* k : kRuntimeEventKinds) events[k] = 0;
    for (const auto& [kind, n] : s.events) events[kind] = n;
    w.family("veeamha_events_total", "counter", "decisions and events by kind (the kinds of the log lines)");
    for (const auto& [kind, n] : events) w.sample(static_cast<double>(n), {{"kind", kind}});
    w.family("veeamha_frames_dropped_total", "counter", "peer frames dropped before use, by reason");
    for (const auto& [reason, n] : s.frames_dropped) w.sample(static_cast<double>(n), {{"reason", reason}});
    w.family("veeamha_alerts_dropped_total", "counter", "alert program runs dropped because the queue was full");
    w.sample(static_cast<double>(s.alerts_dropped));
}

}  // namespace

const char* to_string(NodeRole role) {
    switch (role) {
        case NodeRole::Active: return "active";
        case NodeRole::Passive: return "passive";
        case NodeRole::Unclean: return "unclean";
    }
    return "?";
}

const char* to_string(PeerState state) {
    switch (state) {
        case PeerState::Unknown: return "unknown";
        case PeerState::Up: return "up";
        case PeerState::Lost: return "lost";
        case PeerState::Fencing: return "fencing";
        case PeerState::Fenced: return "fenced";
        case PeerState::Left: return "left";
    }
    return "?";
}

std::string render_metrics(const MetricsSnapshot& s) {
    Writer w({{"cluster", s.cluster}, {"node", s.node}});
    render_node(w, s);
    render_peer(w, s);
    render_resources(w, s);
    render_history(w, s);
    render_counters(w, s);
    return std::move(w).text();
}

}  // namespace veeamha::runtime

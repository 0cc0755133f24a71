// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's vocabulary: what goes in (Input), what comes out (Output), and what it shares with
// the peer (NodeState) and keeps on disk (PersistedState). Plain structs: the daemon converts
// them to and from protobuf at the edge, and the simulator uses them directly.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/level.h"
#include "base/outcome.h"

namespace veeamha::engine {

// The resources' Outcome and the events' Level are the ones the rest of veeam-had uses.
using base::Level;
using base::Outcome;

using Millis = int64_t;  // milliseconds on the monotonic clock the daemon feeds in

struct Time {
    Millis mono = 0;     // monotonic; every decision uses this
    int64_t wall = 0;    // unix ms; only for history, fail-count expiry across restarts, status
};

enum class GroupState { Unknown, Stopped, Starting, Started, Stopping, Failed, Unclean };
enum class ResourceState { Unknown, Stopped, Starting, Started, Stopping, Failed, StopFailed };
const char* to_string(GroupState s);
const char* to_string(ResourceState s);

// What a node publishes about itself (heartbeats and the peer channel). Mirrors wire::NodeState.
struct NodeState {
    uint64_t version = 0;       // increases with every change within one incarnation
    uint64_t epoch = 0;         // highest epoch this node knows
    std::string owner;          // who this node believes owns `epoch` (empty: nobody yet)
    bool holding = false;       // this node owns `epoch` and may run the group
    uint64_t grant_epoch = 0;   // != 0: this node (stopped) grants that epoch to the peer
    GroupState group = GroupState::Unknown;
    std::vector<ResourceState> resources;
    bool standby = false;
    bool unclean = false;       // a stop failed: fence this node before starting anything
    bool yielding = false;      // does not want the group (standby, move away, failures, leaving)
    bool wants_group = false;   // eligible and asks for it
    bool leaving = false;       // clean shutdown: stopped, will not start before it rejoins
    bool maintenance = false;
    uint64_t maintenance_version = 0;
    uint64_t config_digest = 0;
    std::optional<int> priority;  // its own nodes[].priority; none from an older version
    bool operator==(const NodeState&) const = default;
};

struct HistoryEntry {
    int64_t wall = 0;
    std::string kind;
    std::string text;
    bool operator==(const HistoryEntry&) const = default;
};

struct FailoverRecord {
    int64_t wall = 0;
    std::string reason;
    int64_t duration_ms = 0;
    bool operator==(const FailoverRecord&) const = default;
};

// Survives daemon restarts and reboots; written (fsync) before the actions that depend on it.
struct PersistedState {
    uint64_t epoch = 0;
    std::string owner;
    std::string boot_id;        // the boot of the daemon that wrote it
    std::string owner_boot_id;  // the boot in which this node took the group it owns: adoption
                                // is for a daemon restart in that same boot only
    bool unclean = false;       // a stop failed in boot_id: a daemon restart keeps it, a reboot clears it
    bool standby = false;
    bool maintenance = false;
    uint64_t maintenance_version = 0;
    std::vector<std::vector<int64_t>> failures;  // per resource: wall ms of recent failures
    std::deque<HistoryEntry> history;            // newest last, bounded
    std::optional<FailoverRecord> last_failover;
    bool operator==(const PersistedState&) const = default;
};

inline constexpr size_t kHistoryLimit = 200;

enum class Op { Start, Stop, Monitor };
const char* to_string(Op op);

// ---- inputs ----

// First input after the process starts.
struct Started {
    PersistedState state;
    uint64_t incarnation = 0;
    uint64_t config_digest = 0;
    uint64_t seed = 0;     // for backoff jitter
    std::string boot_id;   // /proc/sys/kernel/random/boot_id: tells a daemon restart from a reboot
};
struct Tick {};
// A verified NodeState from the peer (net/ checked tag, cluster, replay, version major).
struct PeerStateIn {
    int link = -1;  // heartbeat link index; -1 = peer channel (does not count as link liveness)
    uint64_t incarnation = 0;
    NodeState state;
    // When the datagram reached this host (mono ms, the kernel's stamp), if known: a heartbeat
    // read some time after it arrived counts from its arrival, not from when it was read.
    Millis arrived = -1;
};
struct ResourceDone {
    uint64_t op_id = 0;
    size_t index = 0;
    Op op = Op::Monitor;
    Outcome outcome = Outcome::Failed;
    std::string reason;
    // TimedOut only: the call was left running at its deadline (a mount(2) stuck in the kernel)
    // and may still take effect; AbandonedDone says when it has returned.
    bool still_running = false;
};
// A call reported still_running has returned: whatever it did has now happened.
struct AbandonedDone {
    uint64_t op_id = 0;
    size_t index = 0;
};
// What a fencer read of a node's power.
enum class Power { Unknown, On, Off };
const char* to_string(Power p);

// Why a fence was not confirmed, as far as the fencer can tell. It decides how soon the engine
// tries again: a fencer that did not answer costs nothing to ask again, a refused login does
// (vCenter's SSO locks an account after a few failed logins: never lock the fencing account).
enum class FenceFault {
    Unanswered,      // unreachable, timed out, busy: retried every 1-1.5 s
    Refused,         // answered no (no permission, no such VM, the task failed): backoff 1 s .. 30 s
    BadCredentials,  // the login was refused: once a minute, at most 4 failed logins in 3 minutes
};
const char* to_string(FenceFault f);
struct FenceDone {
    uint64_t op_id = 0;
    // Off: the power state was read back as off. On: read back as on. Check: the power state
    // could be read (it is in `power`).
    bool confirmed = false;
    Power power = Power::Unknown;  // the last state read, if any
    std::string reason;
    FenceFault fault = FenceFault::Refused;  // when not confirmed
};
struct PingDone {
    uint64_t op_id = 0;
    bool reachable = false;
    std::string reason;
};

enum class AdminVerb { Move, Standby, Unstandby, MaintenanceOn, MaintenanceOff, Cleanup, ConfirmFenced };
const char* to_string(AdminVerb v);
struct AdminCommand {
    uint64_t request_id = 0;
    AdminVerb verb = AdminVerb::Move;
    std::string argument;  // node name or resource name; may be empty (see veeam-hactl help)
};
// SIGTERM: hand the group over cleanly if it can, else stop it; then Exit.
struct Shutdown {};

using Input = std::variant<Started, Tick, PeerStateIn, ResourceDone, AbandonedDone, FenceDone,
                           PingDone, AdminCommand, Shutdown>;

// ---- outputs ----

// Send this state to the peer now on every link and the channel; keep sending it every
// heartbeat interval until the next Publish.
struct Publish {
    NodeState state;
};
struct Run {
    uint64_t op_id = 0;
    size_t index = 0;
    Op op = Op::Monitor;
    Millis timeout = 0;
    bool peer_released_or_fenced = false;  // start: may take over what the peer left behind
    std::string hand_over_to;              // stop: give ownership marks to this node
    std::string reason;
};
// A start of this resource is coming (the resources before it are starting, or the peer is
// being fenced or has released it to this node): it may get ready for it ahead of its turn,
// doing nothing a start would have to undo (the ip kind probes and listens for a duplicate
// address). No answer comes back; a Start is still needed and decides. Sent at most once per
// kPrepareRefresh for a resource.
struct Prepare {
    size_t index = 0;
    std::string reason;
};
// Off and On act on the node's power and confirm by reading it back; Check only reads it (is a
// peer that was never heard powered off?) and changes nothing. fencing.action reboot is Off,
// confirmed, then On, each asked for by the engine: no process of the peer can start between
// the power-off and its confirmation, so every process heard before it is known dead.
enum class FenceAction { Off, On, Check };
const char* to_string(FenceAction a);
struct Fence {
    uint64_t op_id = 0;
    std::string node;
    FenceAction action = FenceAction::Off;
    Millis timeout = 0;
    std::string reason;
};
// Check policy.ping_targets (rule 4b); answer with PingDone.
struct Ping {
    uint64_t op_id = 0;
    std::string reason;
};
enum class ReplyCode { Ok, Refused, NotHere /* forward to the peer */ };
struct Reply {
    uint64_t request_id = 0;
    ReplyCode code = ReplyCode::Ok;
    std::string text;
};
struct Event {
    Level level = Level::Info;
    std::string kind;  // short machine word: peer-lost, fence-request, takeover, ...
    std::string text;  // the line a user reads, with the reason
    int resource = -1;  // the resource it is about (index in config.resources), if one
    std::optional<Op> op = std::nullopt;  // the operation of that resource it is about, if one (a failure's)
};
// Shutdown finished: the daemon may exit.
struct Exit {};

// "1.5s", "200ms", "2m": durations in event texts.
std::string format_ms(Millis ms);

// What one step asks for. The order safety needs is in the type: `persist` is written durably
// (fsync) before any action is carried out, and if it cannot be written no action of the step
// may be (the daemon exits without acting; its peer then fences it). An action therefore never
// depends on state that is not yet on disk: an epoch before the first start, a grant before it
// is published.
using Action = std::variant<Publish, Run, Prepare, Fence, Ping, Reply, Event, Exit>;
struct Outputs {
    std::optional<PersistedState> persist;
    std::vector<Action> actions;
};

}  // namespace veeamha::engine

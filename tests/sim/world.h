// SPDX-License-Identifier: GPL-2.0-or-later
// The simulated world both engines live in (docs/design.md §7 tier 2): a clock, an event queue,
// two machines (power, boots, a daemon process that can be killed, paused or cut in the middle
// of a step, a disk that can fail a write or be rolled back to an old snapshot, clocks that are
// offset and jump), the resources' real state ("what is active where, and who started it"),
// a network per link and direction (loss, delay, duplicates, datagrams seconds old, a peer
// channel that stalls), a vCenter whose answers may come late or lie, and ping targets.
// Everything random comes from one seed. The world carries out the engines' actions the way the
// daemon would, with the faults real hosts have, and keeps the truth the checkers look at.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "daemon/engine/engine.h"

namespace veeamha::sim {

using engine::Millis;

// One direction of one link.
struct LinkDir {
    bool up = true;
    double loss = 0;       // probability a datagram is lost
    double duplicate = 0;  // probability it arrives twice
    double stale = 0;      // probability it arrives seconds late (held in a queue somewhere)
    Millis delay_min = 1, delay_max = 3;
};

// How vCenter (or a BMC) behaves: answers, fails, hangs; or lies: reports the peer off while it
// keeps running (a fencer that confirms without reading, a wrong UUID that powers off another VM).
enum class FencerMode { Works, Fails, Hangs, Lies };

// Faults of one resource on one node, consumed one by one.
struct ResourceFaults {
    int start_fail = 0;     // the next N starts fail
    int start_hang = 0;     // the next N starts never answer (the resource is active meanwhile)
    int start_late = 0;     // the next N starts are left running at their deadline and land later
    // >= 0: such a start returns this long after its deadline, having taken effect (else both drawn)
    Millis left_running_returns = -1;
    int stop_fail = 0;
    int stop_hang = 0;
    int stop_lies = 0;      // the next N stops report success and leave the resource up
    int monitor_fail = 0;   // the next N monitors report failure although it runs
};

// Who made a resource active: the engine (a start), or the OS at boot (an fstab line, LVM
// autoactivation, an enabled unit).
enum class Origin { Engine, Os };

struct Activity {
    bool active = false;
    Origin origin = Origin::Engine;
    uint64_t power_cycle = 0;  // the boot in which it became active
};

struct SimNode {
    bool powered = true;
    bool booted = true;              // powered and past its boot (the daemon may run)
    uint64_t power_cycle = 1;        // bumps at every power-off and power-on
    bool daemon = false;             // a daemon process is running
    std::unique_ptr<engine::Engine> engine;
    config::Config config;           // this node's /etc/veeam-ha.yaml (they may differ)
    uint64_t incarnation = 0;
    uint64_t generation = 0;         // of its daemon process: grows with every start (net/identity.h)
    uint64_t peer_generation = 0;    // the newest peer process this daemon's net layer has heard
    uint64_t peer_incarnation = 0;   // ... its incarnation, which this daemon's frames are bound to
    Millis daemon_started = -1;
    Millis paused_until = -1;        // SIGSTOP of the daemon or a paused VM: no steps, no sends
    bool vm_paused = false;          // the whole VM (its resources' monitors too)
    int64_t wall_offset = 0;         // its wall clock minus the world's
    int64_t mono_offset = 0;         // its monotonic clock at boot (a new boot starts elsewhere)
    engine::PersistedState disk;     // what the last successful persist wrote; survives crashes
    std::vector<engine::PersistedState> snapshots;  // older disks, for a VM snapshot revert
    engine::NodeState published;     // what the daemon keeps heartbeating
    bool have_published = false;
    uint64_t daemon_epoch = 0;       // bumps with every daemon start or death: stale events drop
    Millis wake_at = -1;             // earliest Wake pending for this daemon
    std::vector<Activity> res;       // world truth, per resource
    std::vector<ResourceFaults> faults;
    int stuck_calls = 0;             // calls left running in the kernel: the process cannot exit
    bool restart_when_unstuck = false;
    bool crash_armed = false;        // the next step with actions is cut by a power loss
    bool persist_fail_armed = false; // the next write of the state fails
    bool uplink = true;              // reaches ping targets and vCenter
    bool vcenter_route = true;       // reaches vCenter (a firewall, a route): pings unaffected
    // For the scenarios, per resource: when the daemon last got it ready (Prepare) and last
    // asked to start it (-1 = never).
    std::map<size_t, Millis> prepared_at, start_asked_at;
    // For the checkers.
    bool leaving_published = false;  // this daemon process said it is leaving
    Millis left_at = -1;             // last time a process of this node said it is leaving
    Millis held_at = -1;             // last time a process of this node held the group
    Millis heard_peer_at = -1;       // last delivery of a peer message to this node's daemon
    int confirmed_fences = 0;        // power-offs of the peer that this node's fences caused
    int lied_fences = 0;             // fences confirmed to this node that did not power the peer off
    int admin_confirms = 0;          // confirm-fenced given here while the peer was really off
    int admin_lies = 0;              // ... while it was running
    int off_reads = 0;               // checks that read the peer as off while it was off
    uint64_t last_start_epoch = 0;   // epoch under which resource 0 was last started from cold
    uint64_t start_daemon_epoch = 0; // the daemon process that did it
    int fences_at_last_start = 0;
    int admin_confirms_at_last_start = 0;
    int off_reads_at_last_start = 0;
    Millis fenced_at = -1;           // when a fence of this node last powered it off
};

struct TraceLine {
    Millis at;
    std::string who;   // "n1", "n2", "world"
    std::string text;
};

class World {
public:
    struct Options {
        uint64_t seed = 1;
        engine::EngineOptions engine;
        Millis op_latency_min = 20, op_latency_max = 200;
        Millis fence_latency_min = 100, fence_latency_max = 2000;
        Millis fence_report_late_max = 0;  // > 0: a fence's result may arrive this long after the power-off
        Millis ping_latency = 20;
        Millis link_delay_min = 1, link_delay_max = 3;
        Millis stale_delay_max = 5000;     // how late a stale datagram may be
        Millis boot_time = 3000;           // power on -> daemon start
        Millis late_land_max = 15000;      // how long after its deadline a late start may land
        bool trace = false;
        bool keep_events = true;      // keep engine events (for scenario timelines)
    };

    // Both nodes use `config`; `configs` (two entries) gives each node its own.
    World(const config::Config& config, Options options);
    World(const std::vector<config::Config>& configs, Options options);
    ~World();

    // ---- time ----
    Millis now() const { return now_; }
    // Runs events up to and including time t.
    void run_until(Millis t);
    // Runs until pred() holds (checked after every event) or t; returns whether it held.
    bool run_until(Millis t, const std::function<bool()>& pred);

    // ---- actions (faults and admin) ----
    void start_daemon(int node);                  // process start (powered machine)
    void kill_daemon(int node);                   // kill -9: resources stay as they are
    void stop_daemon(int node);                   // SIGTERM: clean shutdown
    void crash(int node);                         // power loss / kernel panic
    void power_on(int node);                      // boots, daemon starts after boot_time
    // Next boot only: the OS activates these resources before the daemon starts.
    void activate_at_next_boot(int node, std::vector<size_t> resources);
    // Next boot only: the disk comes back as the snapshot `back` writes ago (a VM revert).
    void roll_back_disk_at_next_boot(int node, size_t back);
    void pause(int node, Millis for_ms, bool whole_vm);  // SIGSTOP of the daemon, or a paused VM
    void jump_wall_clock(int node, int64_t by_ms);
    void arm_crash_mid_step(int node) { nodes_[node].crash_armed = true; }
    void arm_persist_failure(int node) { nodes_[node].persist_fail_armed = true; }
    void set_fence_report_late(Millis max) { opt_.fence_report_late_max = max; }
    void set_link(int from, int link, const LinkDir& dir);
    void cut_link(int link, bool both_directions = true, int from = 0);
    void heal_link(int link);
    void partition(bool on);                      // all links, both directions
    void isolate(int node, bool on);              // node's cable: links + uplink
    void set_uplink(int node, bool ok) { nodes_[node].uplink = ok; disrupt(node); }
    void set_fencer(FencerMode mode) { fencer_ = mode; }
    void set_vcenter_route(int node, bool ok) { nodes_[node].vcenter_route = ok; }
    void set_fence_latency(Millis lo, Millis hi) { opt_.fence_latency_min = lo; opt_.fence_latency_max = hi; }
    void stall_channel(Millis until) { channel_stalled_until_ = until; }
    void kill_resource(int node, size_t index);   // the service dies: monitor will see it
    ResourceFaults& faults(int node, size_t index) { return nodes_[node].faults[index]; }
    // An admin command; the reply, or "no reply" when it does not come within a fence timeout.
    std::string admin(int node, engine::AdminVerb verb, const std::string& arg = "");

    // ---- truth, for checkers and assertions ----
    const SimNode& node(int i) const { return nodes_[i]; }
    SimNode& node_mut(int i) { return nodes_[i]; }
    const config::Config& config() const { return nodes_[0].config; }
    const config::Config& config(int node) const { return nodes_[node].config; }
    bool any_active(int node) const;
    bool any_engine_active(int node) const;  // activity the daemons caused (not the OS at boot)
    bool all_active(int node) const;
    // The node running the whole group (all resources active, engine holding), or -1.
    int group_runner() const;
    const std::vector<TraceLine>& trace() const { return trace_; }
    std::string trace_text() const;
    std::mt19937_64& rng() { return rng_; }
    // Called after every event; a checker installs itself here. Returns a violation or "".
    std::function<std::string()> after_event;
    bool check_protocol = true;  // the checks of starts, acquisitions and fences (checker.h)
    std::string violation() const { return violation_; }
    void set_violation(const std::string& v) {
        if (violation_.empty()) violation_ = v;
    }
    std::map<std::string, int>& counters() { return counters_; }
    void note(const std::string& who, const std::string& text);
    // An input the engine cannot tell from the truth was accepted (a fence that lied, an admin's
    // confirm-fenced for a running node, startup_fencing: false): from then on the checker asks
    // that what it causes is detected and ended, not that it never happens.
    Millis unsafe_since = -1;
    // Failback checker state: the last node that ran the whole group, and whether anything
    // happened to either node since (a crash, a cut, an admin command, a resource fault...).
    // When a node becomes the runner its flag keeps only what happened to it since its takeover
    // began (since something of the group became active there): a SIGTERM or an admin's move
    // during the takeover acts once the group is whole there.
    int last_runner = -1;
    bool disrupted[2] = {false, false};
    Millis disrupted_at[2] = {-1, -1};  // the last time anything happened to the node
    Millis active_since[2] = {-1, -1};  // since when something of the group is active there (-1: nothing)
    void disrupt(int node) {
        for (int i = 0; i < 2; ++i)
            if (node < 0 || node == i) {
                disrupted[i] = true;
                disrupted_at[i] = now_;
            }
    }
    // Fences issued, for the fence-loop check: (by, at, target's power cycle when confirmed).
    struct FenceRecord { int by; Millis requested; Millis confirmed = -1; };
    std::vector<FenceRecord> fences;
    // Epochs taken: epoch -> node (at most one).
    std::map<uint64_t, int> epochs_taken;
    uint64_t lied_about_incarnation = 0;  // the process a lying fence said was off
    int lie_told_to = -1;                 // the node whose daemon process believed it
    uint64_t lie_told_to_daemon = 0;
    Millis lie_heard_since = -1;          // ... heard again by the deceived node: an unbroken run
    Millis lie_heard_last = -1;           //     of its messages, from `since` to `last`

private:
    struct Deliver { int to; uint64_t generation; uint64_t bound_to; engine::PeerStateIn in; };
    struct OpDone { int node; uint64_t daemon_epoch; uint64_t power_cycle; engine::ResourceDone done; bool deactivate = false; };
    struct LateLanding { int node; uint64_t power_cycle; size_t index; bool lands; uint64_t daemon_epoch; uint64_t op_id; };
    struct FenceFinish {
        int node;
        uint64_t daemon_epoch;
        engine::FenceDone done;
        bool read_truly_off = false;
        bool lie = false;    // "off" while the peer runs
        bool check = false;  // a power read, not a fence
        uint64_t target_incarnation = 0;  // the peer process the engine meant when it asked
    };
    struct FencePowerOff { int by; int target; size_t record; };
    struct FencePowerOn { int target; };
    struct PingFinish { int node; uint64_t daemon_epoch; engine::PingDone done; };
    struct Wake { int node; uint64_t daemon_epoch; Millis at; };
    struct HeartbeatTimer { int node; uint64_t daemon_epoch; };
    struct Boot { int node; uint64_t power_cycle; };
    struct RestartDaemon { int node; uint64_t daemon_epoch; };
    struct Resume { int node; uint64_t power_cycle; };
    using Payload = std::variant<Deliver, OpDone, LateLanding, FenceFinish, FencePowerOff, FencePowerOn,
                                 PingFinish, Wake, HeartbeatTimer, Boot, RestartDaemon, Resume>;
    struct Event {
        Millis at;
        uint64_t seq;
        Payload payload;
        bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };

    void schedule(Millis at, Payload p);
    int target_of(const Payload& p) const;  // the node an event happens on, or -1
    void dispatch(const Payload& p);
    void handle(const Deliver& e);
    void handle(const OpDone& e);
    void handle(const LateLanding& e);
    void handle(const FenceFinish& e);
    void handle(const FencePowerOff& e);
    void handle(const FencePowerOn& e) { power_on(e.target); }
    void handle(const PingFinish& e);
    void handle(const Wake& e);
    void handle(const HeartbeatTimer& e);
    void handle(const Boot& e);
    void handle(const RestartDaemon& e);
    void handle(const Resume& e);

    // world.cc: feeds one input to a node's engine and carries out the outputs.
    void step(int node, const engine::Input& input);
    engine::Time time_of(int node) const;
    void daemon_died(int node, const std::string& why);
    void send_state(int from, bool all_links_now);
    void send_on_link(int from, int link, const engine::NodeState& s);
    void power_off(int node, const std::string& why);
    bool link_usable(int from, int link) const;
    LinkDir healthy_link() const;
    Millis uniform(Millis lo, Millis hi);
    bool chance(double p);
    std::string name(int node) const { return "n" + std::to_string(node + 1); }

    // world_actions.cc: what the daemon does with each action.
    void execute(int node, engine::Action& action);
    void run_resource(int node, const engine::Run& run);
    void run_fence(int node, const engine::Fence& fence);
    void watch_holding(int node);  // checks every new acquisition (checker.h)

    Options opt_;
    std::mt19937_64 rng_;
    Millis now_ = 0;
    uint64_t seq_ = 0;
    std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
    SimNode nodes_[2];
    bool was_holding_[2] = {false, false};
    std::vector<size_t> boot_active_[2];   // activated by the OS at the next boot
    std::optional<size_t> rollback_[2];    // the disk at the next boot, this many writes back
    std::vector<LinkDir> links_[2];  // [from][link]
    FencerMode fencer_ = FencerMode::Works;
    Millis channel_stalled_until_ = -1;
    std::vector<TraceLine> trace_;
    std::string violation_;
    std::map<std::string, int> counters_;
    std::vector<engine::Reply> replies_;
    uint64_t admin_requests_ = 0;
    uint64_t false_confirm_request_ = 0;  // the admin's confirm-fenced for a node that runs
};

// The configuration every simulation starts from (small timeouts keep runs short).
config::Config sim_config(bool failback = false);

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
// The simulated world both engines live in (docs/design.md §7 tier 2): a clock, an event queue, two
// machines (power, daemon process, disk), the resources' real state ("what is mounted where"),
// a network per link and direction, a vCenter that powers machines off, and ping targets.
// Everything random comes from one seed. The world executes the engines' outputs the way the
// daemon would, and knows the truth the checkers look at.
#pragma once

#include <functional>
#include <map>
#include <memory>
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
    Millis delay_min = 1, delay_max = 3;
};

enum class FencerMode { Works, Fails, Hangs };

struct ResourceFaults {
    int start_fail = 0;     // the next N starts fail
    int start_hang = 0;     // the next N starts never answer
    int stop_fail = 0;
    int stop_hang = 0;
    int monitor_fail = 0;   // the next N monitors report failure although it runs
};

struct SimNode {
    bool powered = true;
    bool daemon = false;             // a daemon process is running
    std::unique_ptr<engine::Engine> engine;
    uint64_t incarnation = 0;
    engine::PersistedState disk;     // what Persist wrote; survives crashes
    engine::NodeState published;     // what the daemon keeps heartbeating
    bool have_published = false;
    uint64_t daemon_epoch = 0;       // bumps with every daemon start: stale timers are ignored
    Millis wake_at = -1;             // earliest Wake pending for this daemon
    std::vector<bool> active;        // world truth: resource i started or starting here
    std::vector<ResourceFaults> faults;
    bool uplink = true;              // reaches ping targets and vCenter
    std::vector<std::string> replies;
    // For the checkers.
    bool leaving_published = false;  // this daemon process said it is leaving
    Millis left_at = -1;             // last time a process of this node said it is leaving
    Millis held_at = -1;             // last time a process of this node held the group
    int confirmed_fences = 0;        // power-offs of the peer this node's fence requests caused
    int admin_confirms = 0;
    uint64_t last_start_epoch = 0;   // epoch under which resource 0 was last started from cold
    uint64_t start_daemon_epoch = 0; // the daemon process that did it
    int fences_at_last_start = 0;
    int admin_confirms_at_last_start = 0;
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
        Millis ping_latency = 20;
        Millis link_delay_min = 1, link_delay_max = 3;
        Millis boot_time = 3000;      // power on -> daemon start
        bool trace = false;
        bool keep_events = true;      // keep engine events (for scenario timelines)
    };

    World(const config::Config& config, Options options);
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
    void set_link(int from, int link, const LinkDir& dir);
    void cut_link(int link, bool both_directions = true, int from = 0);
    void heal_link(int link);
    void partition(bool on);                      // all links, both directions
    void isolate(int node, bool on);              // node's cable: links + uplink
    void set_uplink(int node, bool ok) { nodes_[node].uplink = ok; disrupt(node); }
    void set_fencer(FencerMode mode) { fencer_ = mode; }
    void set_fence_latency(Millis lo, Millis hi) { opt_.fence_latency_min = lo; opt_.fence_latency_max = hi; }
    void kill_resource(int node, size_t index);   // the service dies: monitor will see it
    ResourceFaults& faults(int node, size_t index) { disrupt(node); return nodes_[node].faults[index]; }
    std::string admin(int node, engine::AdminVerb verb, const std::string& arg = "");

    // ---- truth, for checkers and assertions ----
    const SimNode& node(int i) const { return nodes_[i]; }
    SimNode& node_mut(int i) { return nodes_[i]; }
    const config::Config& config() const { return config_; }
    bool any_active(int node) const;
    bool all_active(int node) const;
    // The node running the whole group (all resources active, engine holding), or -1.
    int group_runner() const;
    const std::vector<TraceLine>& trace() const { return trace_; }
    std::string trace_text() const;
    std::mt19937_64& rng() { return rng_; }
    // Called after every event; a checker installs itself here. Returns a violation or "".
    std::function<std::string()> after_event;
    bool check_starts = true;  // invariants 2 and 3 at every cold start
    std::string violation() const { return violation_; }
    std::map<std::string, int>& counters() { return counters_; }
    void note(const std::string& who, const std::string& text);
    // Failback checker state: the last node that ran the whole group, and whether anything
    // happened to either node since (a crash, a cut, an admin command, a resource fault...).
    int last_runner = -1;
    bool disrupted[2] = {false, false};
    void disrupt(int node) { if (node < 0) disrupted[0] = disrupted[1] = true; else disrupted[node] = true; }

private:
    struct Deliver { int to; uint64_t daemon_epoch; engine::PeerStateIn in; };
    struct OpDone { int node; uint64_t daemon_epoch; engine::ResourceDone done; bool deactivate = false; };
    struct FenceFinish { int node; uint64_t daemon_epoch; engine::FenceDone done; int target; bool power_off; };
    struct LatePowerOff { int target; };
    struct PingFinish { int node; uint64_t daemon_epoch; engine::PingDone done; };
    struct Wake { int node; uint64_t daemon_epoch; Millis at; };
    struct HeartbeatTimer { int node; uint64_t daemon_epoch; };
    struct SafetyTick { int node; uint64_t daemon_epoch; };
    struct Boot { int node; uint64_t power_cycle; };
    using Payload = std::variant<Deliver, OpDone, FenceFinish, LatePowerOff, PingFinish, Wake,
                                 HeartbeatTimer, SafetyTick, Boot>;
    struct Event {
        Millis at;
        uint64_t seq;
        Payload payload;
        bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };

    void schedule(Millis at, Payload p);
    void dispatch(const Payload& p);
    void handle(const Deliver& e);
    void handle(const OpDone& e);
    void handle(const FenceFinish& e);
    void handle(const LatePowerOff& e);
    void handle(const PingFinish& e);
    void handle(const Wake& e);
    void handle(const HeartbeatTimer& e);
    void handle(const SafetyTick& e);
    void handle(const Boot& e);

    // Feeds one input to a node's engine and carries out the outputs.
    void step(int node, const engine::Input& input);
    void execute(int node, engine::Output& out);
    void send_state(int from, bool all_links_now);
    void send_on_link(int from, int link, const engine::NodeState& s);
    void power_off(int node, const std::string& why);
    bool link_usable(int from, int link) const;
    LinkDir healthy_link() const;
    Millis uniform(Millis lo, Millis hi);
    bool chance(double p);
    std::string name(int node) const { return "n" + std::to_string(node + 1); }

    config::Config config_;
    Options opt_;
    std::mt19937_64 rng_;
    Millis now_ = 0;
    uint64_t seq_ = 0;
    std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
    SimNode nodes_[2];
    uint64_t power_cycles_[2] = {0, 0};
    std::vector<LinkDir> links_[2];  // [from][link]
    FencerMode fencer_ = FencerMode::Works;
    std::vector<TraceLine> trace_;
    std::string violation_;
    std::map<std::string, int> counters_;
    std::vector<std::pair<uint64_t, std::string>> pending_replies_;
};

// The configuration every simulation starts from (small timeouts keep runs short).
config::Config sim_config(bool failback = false);

}  // namespace veeamha::sim

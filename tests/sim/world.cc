// SPDX-License-Identifier: GPL-2.0-or-later
// The world's core: time and events, machines and daemons, the network. What the daemon does
// with each engine action is in world_actions.cc.
#include "tests/sim/world.h"

#include <algorithm>
#include <sstream>

#include "tests/sim/checker.h"

namespace veeamha::sim {

using namespace veeamha::engine;

namespace {
constexpr int64_t kWallOffset = 1'780'000'000'000;  // wall clock = simulated ms + this

// The two files differ if any setting the engine reads differs.
bool same_config(const config::Config& a, const config::Config& b) {
    return a.nodes == b.nodes && a.heartbeat == b.heartbeat && a.fencing == b.fencing && a.policy == b.policy &&
           a.resources == b.resources;
}
}  // namespace

config::Config sim_config(bool failback) {
    config::Config c;
    c.source_file = "sim";
    c.cluster.name = "sim";
    for (int i = 0; i < 2; ++i) {
        config::Node n;
        n.name = "n" + std::to_string(i + 1);
        n.addresses = {"10.0.0." + std::to_string(i + 1), "10.1.0." + std::to_string(i + 1)};
        n.priority = i == 0 ? 100 : 50;
        c.nodes.push_back(n);
    }
    c.heartbeat.interval = config::Duration(200);
    c.heartbeat.timeout = config::Duration(1000);
    c.fencing.timeout = config::Duration(10000);
    c.fencing.delay = config::Duration(2000);
    c.policy.failback = failback;
    c.policy.migration_threshold = 3;
    c.policy.failure_timeout = config::Duration(30000);
    c.policy.ping_targets = {"10.9.9.9"};
    c.policy.ping_timeout = config::Duration(500);
    const char* names[] = {"vg", "fs", "ip", "svc"};
    config::ResourceKind kinds[] = {config::ResourceKind::Lvm, config::ResourceKind::Filesystem,
                                    config::ResourceKind::Ip, config::ResourceKind::Service};
    for (int i = 0; i < 4; ++i) {
        config::Resource r;
        r.name = names[i];
        r.kind = kinds[i];
        r.start_timeout = config::Duration(5000);
        r.stop_timeout = config::Duration(5000);
        r.monitor_interval = config::Duration(2000);
        r.monitor_timeout = config::Duration(3000);
        c.resources.push_back(r);
    }
    return c;
}

World::World(const config::Config& config, Options options) : World(std::vector<config::Config>{config, config}, options) {}

World::World(const std::vector<config::Config>& configs, Options options) : opt_(options), rng_(options.seed) {
    for (int i = 0; i < 2; ++i) {
        nodes_[i].config = configs.at(static_cast<size_t>(i));
        nodes_[i].res.assign(nodes_[i].config.resources.size(), {});
        nodes_[i].faults.assign(nodes_[i].config.resources.size(), {});
        links_[i].assign(nodes_[i].config.links(), healthy_link());
    }
}

World::~World() = default;

LinkDir World::healthy_link() const {
    LinkDir d;
    d.delay_min = opt_.link_delay_min;
    d.delay_max = opt_.link_delay_max;
    return d;
}

Millis World::uniform(Millis lo, Millis hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<Millis>(rng_() % static_cast<uint64_t>(hi - lo + 1));
}

bool World::chance(double p) {
    if (p <= 0) return false;
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

void World::note(const std::string& who, const std::string& text) {
    if (opt_.keep_events) trace_.push_back({now_, who, text});
}

std::string World::trace_text() const {
    std::ostringstream out;
    for (const auto& t : trace_) {
        out << format_ms(t.at) << "\t" << t.who << "\t" << t.text << "\n";
    }
    return out.str();
}

void World::schedule(Millis at, Payload p) { queue_.push(Event{std::max(at, now_), ++seq_, std::move(p)}); }

// Events that need the daemon (or, for a paused VM, the machine) to run.
int World::target_of(const Payload& p) const {
    return std::visit(
        [this](const auto& e) -> int {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, Deliver>) return e.to;
            else if constexpr (std::is_same_v<T, LateLanding>) return nodes_[e.node].vm_paused ? e.node : -1;
            else if constexpr (std::is_same_v<T, OpDone> || std::is_same_v<T, FenceFinish> ||
                               std::is_same_v<T, PingFinish> || std::is_same_v<T, Wake> ||
                               std::is_same_v<T, HeartbeatTimer>)
                return e.node;
            else
                return -1;
        },
        p);
}

bool World::run_until(Millis t, const std::function<bool()>& pred) {
    if (pred && pred()) return true;
    while (!queue_.empty() && queue_.top().at <= t && violation_.empty()) {
        Event e = queue_.top();
        queue_.pop();
        now_ = e.at;
        // A paused process or VM runs nothing: what was due for it waits (in order) until it
        // resumes, like a socket's backlog and a stopped process's timers.
        int target = target_of(e.payload);
        if (target >= 0 && nodes_[target].powered && now_ < nodes_[target].paused_until) {
            schedule(nodes_[target].paused_until, e.payload);
            continue;
        }
        dispatch(e.payload);
        for (int i = 0; i < 2; ++i) watch_holding(i);
        if (violation_.empty()) violation_ = check_world(*this);
        if (violation_.empty() && after_event) violation_ = after_event();
        if (pred && pred()) return true;
    }
    if (violation_.empty()) now_ = std::max(now_, t);
    return pred ? pred() : true;
}

void World::run_until(Millis t) { run_until(t, nullptr); }

void World::dispatch(const Payload& p) {
    std::visit([this](const auto& e) { handle(e); }, p);
}

// ---- machines and daemons ----

engine::Time World::time_of(int i) const {
    return Time{now_ + nodes_[i].mono_offset, now_ + kWallOffset + nodes_[i].wall_offset};
}

void World::start_daemon(int i) {
    SimNode& n = nodes_[i];
    if (!n.powered || !n.booted || n.daemon) return;
    if (n.stuck_calls > 0) {
        // The old process is blocked in the kernel and cannot exit: no new one yet (systemd
        // restarts the unit only once the main process is gone).
        n.restart_when_unstuck = true;
        note(name(i), "daemon cannot start: the old process is stuck in the kernel");
        return;
    }
    n.restart_when_unstuck = false;
    n.daemon = true;
    n.daemon_epoch++;
    n.daemon_started = now_;
    n.engine = std::make_unique<Engine>(n.config, i, opt_.engine);
    n.incarnation = rng_() | 1;
    n.generation++;
    n.peer_generation = n.peer_incarnation = 0;
    n.have_published = false;
    n.leaving_published = false;
    was_holding_[i] = false;
    note(name(i), "daemon starts");
    counters_["daemon-start"]++;
    uint64_t digest = same_config(nodes_[0].config, nodes_[1].config) ? 0x5eed : 0x5eed + static_cast<uint64_t>(i) + 1;
    std::string boot_id = "boot-" + name(i) + "-" + std::to_string(n.power_cycle);
    step(i, Started{n.disk, n.incarnation, digest, rng_(), boot_id});
    schedule(now_ + static_cast<Millis>(n.config.heartbeat.interval.count()), HeartbeatTimer{i, n.daemon_epoch});
}

void World::daemon_died(int i, const std::string& why) {
    SimNode& n = nodes_[i];
    if (!n.daemon) return;
    n.daemon = false;
    n.engine.reset();
    n.daemon_epoch++;
    disrupt(i);
    note(name(i), why);
}

void World::kill_daemon(int i) { daemon_died(i, "daemon killed (-9); resources left as they are"); }

void World::stop_daemon(int i) {
    if (!nodes_[i].daemon) return;
    note(name(i), "SIGTERM");
    disrupt(i);
    step(i, Shutdown{});
}

void World::power_off(int i, const std::string& why) {
    SimNode& n = nodes_[i];
    if (!n.powered) return;
    n.powered = false;
    n.booted = false;
    n.daemon = false;
    n.engine.reset();
    n.daemon_epoch++;
    for (auto& r : n.res) r = Activity{};
    n.stuck_calls = 0;  // the calls die with the machine
    n.restart_when_unstuck = false;
    n.paused_until = -1;
    n.vm_paused = false;
    n.crash_armed = n.persist_fail_armed = false;
    n.power_cycle++;
    disrupt(i);
    note(name(i), "powered off: " + why);
}

void World::crash(int i) { power_off(i, "crash"); }

void World::power_on(int i) {
    SimNode& n = nodes_[i];
    if (n.powered) return;
    n.powered = true;
    n.power_cycle++;
    note(name(i), "powered on");
    schedule(now_ + opt_.boot_time, Boot{i, n.power_cycle});
}

void World::activate_at_next_boot(int i, std::vector<size_t> resources) { boot_active_[i] = std::move(resources); }

void World::roll_back_disk_at_next_boot(int i, size_t back) { rollback_[i] = back; }

void World::handle(const Boot& e) {
    SimNode& n = nodes_[e.node];
    if (n.power_cycle != e.power_cycle || !n.powered) return;
    n.booted = true;
    // A fresh boot: its monotonic clock starts near zero, whatever the world's time.
    n.mono_offset = -now_ + static_cast<Millis>(uniform(5000, 60000));
    if (rollback_[e.node]) {
        size_t back = *rollback_[e.node];
        rollback_[e.node].reset();
        if (back < n.snapshots.size()) {
            n.disk = n.snapshots[n.snapshots.size() - 1 - back];
            note(name(e.node), "disk rolled back " + std::to_string(back) + " writes (VM snapshot revert)");
        }
    }
    std::string os;
    for (size_t idx : boot_active_[e.node]) {
        if (idx >= n.res.size()) continue;
        n.res[idx] = Activity{true, Origin::Os, n.power_cycle};
        os += (os.empty() ? "" : ",") + n.config.resources[idx].name;
    }
    boot_active_[e.node].clear();
    if (!os.empty()) note(name(e.node), "the OS activated " + os + " at boot");
    start_daemon(e.node);
}

void World::handle(const RestartDaemon& e) {
    if (nodes_[e.node].daemon_epoch == e.daemon_epoch) start_daemon(e.node);
}

void World::pause(int i, Millis for_ms, bool whole_vm) {
    SimNode& n = nodes_[i];
    if (!n.powered) return;
    n.paused_until = std::max(n.paused_until, now_ + for_ms);
    n.vm_paused = n.vm_paused || whole_vm;
    disrupt(i);
    note(name(i), std::string(whole_vm ? "VM paused" : "daemon stopped (SIGSTOP)") + " for " + format_ms(for_ms));
    schedule(n.paused_until, Resume{i, n.power_cycle});
}

void World::handle(const Resume& e) {
    SimNode& n = nodes_[e.node];
    if (n.power_cycle != e.power_cycle || now_ < n.paused_until) return;
    n.paused_until = -1;
    n.vm_paused = false;
    note(name(e.node), "resumed");
}

void World::jump_wall_clock(int i, int64_t by_ms) {
    nodes_[i].wall_offset += by_ms;
    note(name(i), "wall clock jumps " + format_ms(by_ms));
}

// ---- network ----

void World::set_link(int from, int link, const LinkDir& dir) {
    if (static_cast<size_t>(link) >= links_[from].size()) return;
    links_[from][link] = dir;
    disrupt(-1);
}

void World::cut_link(int link, bool both, int from) {
    if (static_cast<size_t>(link) >= links_[0].size()) return;
    if (both || from == 0) links_[0][link].up = false;
    if (both || from == 1) links_[1][link].up = false;
    disrupt(-1);
    note("world", "link " + std::to_string(link) + (both ? " cut" : " cut one way from " + name(from)));
}

void World::heal_link(int link) {
    if (static_cast<size_t>(link) >= links_[0].size()) return;
    links_[0][link] = healthy_link();
    links_[1][link] = healthy_link();
    note("world", "link " + std::to_string(link) + " healed");
}

void World::partition(bool on) {
    for (int d = 0; d < 2; ++d)
        for (auto& l : links_[d]) l.up = !on;
    disrupt(-1);
    note("world", on ? "full partition (all links)" : "partition healed");
}

void World::isolate(int i, bool on) {
    for (int d = 0; d < 2; ++d)
        for (auto& l : links_[d]) l.up = !on;
    nodes_[i].uplink = !on;
    disrupt(-1);
    note("world", name(i) + (on ? " isolated (cable pulled: links and ping targets)" : " reconnected"));
}

bool World::link_usable(int from, int link) const {
    return nodes_[from].powered && links_[from][link].up;
}

void World::send_on_link(int from, int link, const NodeState& s) {
    const LinkDir& d = links_[from][link];
    if (!link_usable(from, link) || chance(d.loss)) return;
    PeerStateIn in{link, nodes_[from].incarnation, s};
    int to = 1 - from;
    Millis delay = chance(d.stale) ? uniform(1000, opt_.stale_delay_max) : uniform(d.delay_min, d.delay_max);
    const SimNode& n = nodes_[from];
    schedule(now_ + delay, Deliver{to, n.generation, n.peer_incarnation, in});
    if (chance(d.duplicate))
        schedule(now_ + uniform(d.delay_min, d.delay_max * 3), Deliver{to, n.generation, n.peer_incarnation, in});
}

void World::send_state(int from, bool with_channel) {
    SimNode& n = nodes_[from];
    if (!n.have_published) return;
    for (size_t l = 0; l < links_[from].size(); ++l) send_on_link(from, static_cast<int>(l), n.published);
    if (!with_channel) return;
    // The peer channel is TCP over any link that works both ways: no loss, some delay; a stalled
    // connection delivers everything late and in order.
    for (size_t l = 0; l < links_[from].size(); ++l) {
        if (link_usable(from, static_cast<int>(l)) && link_usable(1 - from, static_cast<int>(l))) {
            const LinkDir& d = links_[from][l];
            Millis at = std::max(now_, channel_stalled_until_) + uniform(d.delay_min, d.delay_max) + 1;
            schedule(at, Deliver{1 - from, n.generation, n.peer_incarnation, PeerStateIn{-1, n.incarnation, n.published}});
            break;
        }
    }
}

void World::handle(const Deliver& e) {
    SimNode& n = nodes_[e.to];
    if (!n.daemon) return;
    // What net/ does before the engine sees anything (net/peer_codec.h): a frame of an older
    // process of the peer than one already heard is dropped (a datagram held seconds in the
    // network); a frame not bound to this process (made before the peer heard of it: the
    // backlog of a process that died before this one started) only teaches the peer's
    // incarnation, and is not delivered.
    if (e.generation < n.peer_generation) return;
    n.peer_generation = e.generation;
    n.peer_incarnation = e.in.incarnation;
    if (e.bound_to != n.incarnation) return;
    n.heard_peer_at = now_;  // genuine contact (bound), if perhaps with a process dead since
    if (lied_about_incarnation != 0 && e.in.incarnation == lied_about_incarnation && e.to == lie_told_to) {
        if (lie_heard_last < 0 || now_ - lie_heard_last > n.config.heartbeat.timeout.count()) lie_heard_since = now_;
        lie_heard_last = now_;
    }
    step(e.to, e.in);
}

void World::handle(const HeartbeatTimer& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    send_state(e.node, false);
    schedule(now_ + static_cast<Millis>(n.config.heartbeat.interval.count()), HeartbeatTimer{e.node, e.daemon_epoch});
}

void World::handle(const Wake& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch || e.at != n.wake_at) return;
    n.wake_at = -1;
    counters_["wake:" + std::to_string(e.node)]++;  // how often the engine asked to be woken
    step(e.node, Tick{});
}

// ---- engine I/O ----

void World::step(int i, const Input& input) {
    SimNode& n = nodes_[i];
    if (!n.daemon || !n.engine) return;
    Outputs outs = n.engine->step(time_of(i), input);
    const uint64_t epoch = n.daemon_epoch;
    // A power loss in the middle of the step: before its state is written (cut 0) or after the
    // write and cut-1 of its actions.
    size_t cut = SIZE_MAX;
    if (n.crash_armed && (outs.persist || !outs.actions.empty())) {
        n.crash_armed = false;
        cut = static_cast<size_t>(uniform(0, static_cast<Millis>(outs.actions.size())));
    }
    if (cut == 0) {
        power_off(i, "power lost in the middle of a step, before its state was written");
        return;
    }
    if (outs.persist) {
        if (n.persist_fail_armed) {
            // What the daemon does when it cannot write its state: exit without acting; systemd
            // starts it again.
            n.persist_fail_armed = false;
            daemon_died(i, "cannot write the state file: daemon exits without acting");
            schedule(now_ + uniform(100, 2000), RestartDaemon{i, n.daemon_epoch});
            return;
        }
        n.disk = *outs.persist;
        n.snapshots.push_back(n.disk);
        if (n.snapshots.size() > 32) n.snapshots.erase(n.snapshots.begin());
    }
    for (size_t k = 0; k < outs.actions.size(); ++k) {
        if (cut == k + 1) {
            power_off(i, "power lost in the middle of a step, after " + std::to_string(k) + " of its " +
                             std::to_string(outs.actions.size()) + " actions");
            return;
        }
        execute(i, outs.actions[k]);
        if (!n.daemon || n.daemon_epoch != epoch) return;  // Exit or power-off mid-batch
    }
    Millis wake = n.engine->next_wakeup();
    if (wake < 0) return;
    wake = std::max(wake - n.mono_offset, now_ + 1);  // its clock -> world time
    if (n.wake_at > now_ && n.wake_at <= wake) return;  // an earlier one is pending
    n.wake_at = wake;
    schedule(wake, Wake{i, n.daemon_epoch, wake});
}

void World::watch_holding(int i) {
    SimNode& n = nodes_[i];
    bool holding = n.daemon && n.engine && n.engine->holding();
    if (holding && !was_holding_[i] && check_protocol) {
        std::string v = check_acquisition(*this, i);
        if (!v.empty()) set_violation(v);
    }
    was_holding_[i] = holding;
}

bool World::any_active(int i) const {
    return std::any_of(nodes_[i].res.begin(), nodes_[i].res.end(), [](const Activity& a) { return a.active; });
}

bool World::any_engine_active(int i) const {
    return std::any_of(nodes_[i].res.begin(), nodes_[i].res.end(),
                       [](const Activity& a) { return a.active && a.origin == Origin::Engine; });
}

bool World::all_active(int i) const {
    return !nodes_[i].res.empty() &&
           std::all_of(nodes_[i].res.begin(), nodes_[i].res.end(), [](const Activity& a) { return a.active; });
}

int World::group_runner() const {
    int runner = -1;
    for (int i = 0; i < 2; ++i) {
        const SimNode& n = nodes_[i];
        if (n.daemon && n.engine && n.engine->holding() && all_active(i) &&
            n.engine->group_state() == GroupState::Started) {
            if (runner >= 0) return -1;  // both (after an unsafe input): nobody in particular
            runner = i;
        }
    }
    return runner;
}

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/sim/world.h"

#include <algorithm>
#include <sstream>

#include "tests/sim/checker.h"

namespace veeamha::sim {

using namespace veeamha::engine;

namespace {
constexpr int64_t kWallOffset = 1'780'000'000'000;  // wall clock = simulated ms + this
constexpr uint64_t kConfigDigest = 0x5eed;
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

World::World(const config::Config& config, Options options)
    : config_(config), opt_(options), rng_(options.seed) {
    for (int i = 0; i < 2; ++i) {
        nodes_[i].active.assign(config_.resources.size(), false);
        nodes_[i].faults.assign(config_.resources.size(), {});
        links_[i].assign(config_.links(), healthy_link());
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

bool World::run_until(Millis t, const std::function<bool()>& pred) {
    if (pred && pred()) return true;
    while (!queue_.empty() && queue_.top().at <= t && violation_.empty()) {
        Event e = queue_.top();
        queue_.pop();
        now_ = e.at;
        dispatch(e.payload);
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

// ---- node lifecycle ----

void World::start_daemon(int i) {
    SimNode& n = nodes_[i];
    if (!n.powered || n.daemon) return;
    n.daemon = true;
    n.daemon_epoch++;
    n.engine = std::make_unique<Engine>(config_, i, opt_.engine);
    n.incarnation = rng_() | 1;
    n.have_published = false;
    n.leaving_published = false;
    note(name(i), "daemon starts");
    counters_["daemon-start"]++;
    step(i, Started{n.disk, n.incarnation, kConfigDigest, rng_()});
    schedule(now_ + static_cast<Millis>(config_.heartbeat.interval.count()), HeartbeatTimer{i, n.daemon_epoch});
    schedule(now_ + 1000, SafetyTick{i, n.daemon_epoch});
}

void World::kill_daemon(int i) {
    SimNode& n = nodes_[i];
    if (!n.daemon) return;
    n.daemon = false;
    n.engine.reset();
    n.daemon_epoch++;
    disrupt(i);
    note(name(i), "daemon killed (-9); resources left as they are");
}

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
    n.daemon = false;
    n.engine.reset();
    n.daemon_epoch++;
    std::fill(n.active.begin(), n.active.end(), false);
    power_cycles_[i]++;
    disrupt(i);
    note(name(i), "powered off: " + why);
}

void World::crash(int i) { power_off(i, "crash"); }

void World::power_on(int i) {
    SimNode& n = nodes_[i];
    if (n.powered) return;
    n.powered = true;
    power_cycles_[i]++;
    note(name(i), "powered on");
    schedule(now_ + opt_.boot_time, Boot{i, power_cycles_[i]});
}

void World::handle(const Boot& e) {
    if (power_cycles_[e.node] != e.power_cycle || !nodes_[e.node].powered) return;
    start_daemon(e.node);
}

// ---- network ----

void World::set_link(int from, int link, const LinkDir& dir) {
    links_[from][link] = dir;
    disrupt(-1);
}

void World::cut_link(int link, bool both, int from) {
    if (both || from == 0) links_[0][link].up = false;
    if (both || from == 1) links_[1][link].up = false;
    disrupt(-1);
    note("world", "link " + std::to_string(link) + (both ? " cut" : " cut one way from " + name(from)));
}

void World::heal_link(int link) {
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
    schedule(now_ + uniform(d.delay_min, d.delay_max), Deliver{to, 0, in});
    if (chance(d.duplicate)) schedule(now_ + uniform(d.delay_min, d.delay_max * 3), Deliver{to, 0, in});
}

void World::send_state(int from, bool with_channel) {
    SimNode& n = nodes_[from];
    if (!n.have_published) return;
    for (size_t l = 0; l < links_[from].size(); ++l) send_on_link(from, static_cast<int>(l), n.published);
    if (!with_channel) return;
    // The peer channel is TCP over any link that works both ways: no loss, some delay.
    for (size_t l = 0; l < links_[from].size(); ++l) {
        if (link_usable(from, static_cast<int>(l)) && link_usable(1 - from, static_cast<int>(l))) {
            const LinkDir& d = links_[from][l];
            schedule(now_ + uniform(d.delay_min, d.delay_max) + 1,
                     Deliver{1 - from, 0, PeerStateIn{-1, n.incarnation, n.published}});
            break;
        }
    }
}

void World::handle(const Deliver& e) {
    if (!nodes_[e.to].daemon) return;
    step(e.to, e.in);
}

void World::handle(const HeartbeatTimer& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    send_state(e.node, false);
    schedule(now_ + static_cast<Millis>(config_.heartbeat.interval.count()), HeartbeatTimer{e.node, e.daemon_epoch});
}

void World::handle(const SafetyTick& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    step(e.node, Tick{});
    schedule(now_ + 1000, SafetyTick{e.node, e.daemon_epoch});
}

void World::handle(const Wake& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch || e.at != n.wake_at) return;
    n.wake_at = -1;
    step(e.node, Tick{});
}

// ---- engine I/O ----

void World::step(int i, const Input& input) {
    SimNode& n = nodes_[i];
    if (!n.daemon || !n.engine) return;
    Outputs outs = n.engine->step(Time{now_, now_ + kWallOffset}, input);
    uint64_t epoch = n.daemon_epoch;
    for (auto& o : outs) {
        execute(i, o);
        if (!n.daemon || n.daemon_epoch != epoch) return;  // Exit or power-off mid-batch
    }
    Millis wake = n.engine->next_wakeup();
    if (wake < 0) return;
    wake = std::max(wake, now_ + 1);
    if (n.wake_at > now_ && n.wake_at <= wake) return;  // an earlier one is pending
    n.wake_at = wake;
    schedule(wake, Wake{i, n.daemon_epoch, wake});
}

void World::execute(int i, Output& out) {
    SimNode& n = nodes_[i];
    if (auto* p = std::get_if<Publish>(&out)) {
        n.published = p->state;
        n.have_published = true;
        if (p->state.leaving && !n.leaving_published) {
            n.leaving_published = true;
            n.left_at = now_;
        }
        send_state(i, true);
    } else if (auto* r = std::get_if<Run>(&out)) {
        ResourceFaults& f = n.faults[r->index];
        OpDone done{i, n.daemon_epoch, ResourceDone{r->op_id, r->index, r->op, Outcome::Ok, ""}};
        Millis at = now_ + uniform(opt_.op_latency_min, opt_.op_latency_max);
        switch (r->op) {
            case Op::Start:
                if (r->index == 0 && !any_active(i)) {
                    std::string v = check_starts ? check_cold_start(*this, i) : std::string();
                    if (!v.empty() && violation_.empty()) violation_ = v;
                    n.last_start_epoch = n.engine->persisted().epoch;
                }
                n.active[r->index] = true;
                if (f.start_hang > 0) {
                    --f.start_hang;
                    disrupt(i);
                    done.done.outcome = Outcome::TimedOut;
                    done.done.reason = "start hung (simulated)";
                    at = now_ + r->timeout;
                } else if (f.start_fail > 0) {
                    --f.start_fail;
                    disrupt(i);
                    done.done.outcome = Outcome::Failed;
                    done.done.reason = "start failed (simulated)";
                }
                break;
            case Op::Stop:
                if (f.stop_hang > 0) {
                    --f.stop_hang;
                    disrupt(i);
                    done.done.outcome = Outcome::TimedOut;
                    done.done.reason = "stop hung (simulated)";
                    at = now_ + r->timeout;
                } else if (f.stop_fail > 0) {
                    --f.stop_fail;
                    disrupt(i);
                    done.done.outcome = Outcome::Failed;
                    done.done.reason = "stop failed (simulated)";
                } else {
                    done.deactivate = true;
                }
                break;
            case Op::Monitor:
                if (f.monitor_fail > 0) {
                    --f.monitor_fail;
                    disrupt(i);
                    done.done.outcome = Outcome::Failed;
                    done.done.reason = "monitor failed (simulated)";
                } else {
                    done.done.outcome = Outcome::NotRunning;  // decided on arrival, see handle()
                    done.done.reason = "?";
                }
                break;
        }
        schedule(at, done);
    } else if (auto* f = std::get_if<Fence>(&out)) {
        int target = 1 - i;
        counters_["fence-request"]++;
        FenceFinish fin{i, n.daemon_epoch, FenceDone{f->op_id, false, ""}, target, false};
        Millis lat = uniform(opt_.fence_latency_min, opt_.fence_latency_max);
        if (!n.uplink) {
            fin.done.reason = "vCenter unreachable (simulated)";
            schedule(now_ + std::min<Millis>(lat, f->timeout), fin);
        } else if (fencer_ == FencerMode::Works) {
            fin.done.confirmed = true;
            fin.power_off = true;
            schedule(now_ + lat, fin);
        } else if (fencer_ == FencerMode::Fails) {
            fin.done.reason = "PowerOffVM_Task failed (simulated)";
            schedule(now_ + lat, fin);
        } else {
            fin.done.reason = "timed out waiting for the power-off task (simulated hang)";
            schedule(now_ + f->timeout, fin);
            if (chance(0.5)) schedule(now_ + uniform(0, f->timeout), LatePowerOff{target});
        }
    } else if (auto* ping = std::get_if<Ping>(&out)) {
        schedule(now_ + opt_.ping_latency, PingFinish{i, n.daemon_epoch, PingDone{ping->op_id, n.uplink, n.uplink ? "10.9.9.9 answered" : "10.9.9.9: no answer"}});
    } else if (auto* persist = std::get_if<Persist>(&out)) {
        n.disk = persist->state;
    } else if (auto* reply = std::get_if<Reply>(&out)) {
        pending_replies_.push_back({reply->request_id, std::string(reply->code == ReplyCode::Ok ? "ok: " : reply->code == ReplyCode::Refused ? "refused: " : "not-here: ") + reply->text});
    } else if (auto* e = std::get_if<engine::Event>(&out)) {
        counters_["event:" + e->kind]++;
        note(name(i), e->kind + ": " + e->text);
    } else if (std::holds_alternative<Exit>(out)) {
        note(name(i), "daemon exits");
        n.daemon = false;
        n.engine.reset();
        n.daemon_epoch++;
    }
}

void World::handle(const OpDone& e) {
    SimNode& n = nodes_[e.node];
    if (!n.powered) return;
    ResourceDone done = e.done;
    if (e.deactivate) n.active[done.index] = false;
    if (done.op == Op::Monitor && done.reason == "?") {
        done.outcome = n.active[done.index] ? Outcome::Ok : Outcome::NotRunning;
        done.reason.clear();
    }
    if (n.daemon_epoch != e.daemon_epoch) return;  // the process that asked is gone
    step(e.node, done);
}

void World::handle(const FenceFinish& e) {
    if (e.power_off) {
        power_off(e.target, "fenced by " + name(e.node) + " through vCenter");
        // Counted also when the target was off already: vCenter then confirms it off, which is
        // a confirmed fence for invariant 2.
        nodes_[e.node].confirmed_fences++;
        if (config_.fencing.action == config::FenceAction::Reboot) power_on(e.target);
    }
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    step(e.node, e.done);
}

void World::handle(const LatePowerOff& e) { power_off(e.target, "powered off late by a hung fence task"); }

void World::handle(const PingFinish& e) {
    SimNode& n = nodes_[e.node];
    if (!n.daemon || n.daemon_epoch != e.daemon_epoch) return;
    step(e.node, e.done);
}

void World::kill_resource(int i, size_t index) {
    if (!nodes_[i].active[index]) return;
    nodes_[i].active[index] = false;
    disrupt(i);
    note(name(i), config_.resources[index].name + " died");
}

std::string World::admin(int i, AdminVerb verb, const std::string& arg) {
    static uint64_t request = 0;
    uint64_t id = ++request;
    pending_replies_.clear();
    SimNode& n = nodes_[i];
    if (!n.daemon) return "error: daemon not running on " + name(i);
    disrupt(-1);
    // The checker needs to know the admin said so before the engine acts on it.
    if (verb == AdminVerb::ConfirmFenced) n.admin_confirms++;
    note(name(i), std::string("admin ") + to_string(verb) + (arg.empty() ? "" : " " + arg));
    step(i, AdminCommand{id, verb, arg});
    std::string reply = pending_replies_.empty() ? "no reply" : pending_replies_.back().second;
    if (reply.rfind("not-here", 0) == 0) {
        // The daemon forwards it over the peer channel.
        int peer = 1 - i;
        bool channel = false;
        for (size_t l = 0; l < links_[0].size(); ++l)
            channel = channel || (link_usable(i, static_cast<int>(l)) && link_usable(peer, static_cast<int>(l)));
        if (!channel || !nodes_[peer].daemon) return "error: " + name(peer) + " unreachable";
        pending_replies_.clear();
        step(peer, AdminCommand{id, verb, arg});
        reply = pending_replies_.empty() ? "no reply" : pending_replies_.back().second;
        i = peer;
    }
    note(name(i), "reply: " + reply);
    if (violation_.empty()) violation_ = check_world(*this);
    return reply;
}

bool World::any_active(int i) const {
    return std::any_of(nodes_[i].active.begin(), nodes_[i].active.end(), [](bool a) { return a; });
}

bool World::all_active(int i) const {
    return !nodes_[i].active.empty() &&
           std::all_of(nodes_[i].active.begin(), nodes_[i].active.end(), [](bool a) { return a; });
}

int World::group_runner() const {
    for (int i = 0; i < 2; ++i) {
        const SimNode& n = nodes_[i];
        if (n.daemon && n.engine && n.engine->holding() && all_active(i) &&
            n.engine->group_state() == GroupState::Started)
            return i;
    }
    return -1;
}

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
#include <utility>  // before Boost.Asio: Boost 1.74 needs std::exchange declared under C++20

#include "daemon/runtime/runtime.h"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <stdexcept>

#include "base/log.h"
#include "base/process.h"
#include "config/event_kinds.h"
#include "daemon/cli/cli.h"
#include "daemon/resources/factory.h"
#include "daemon/resources/service/unit_order.h"
#include "daemon/runtime/http_server.h"
#include "daemon/runtime/ping.h"
#include "daemon/runtime/sync/service.h"
#include "daemon/runtime/sync/watch.h"
#include "daemon/runtime/status_json.h"
#include "daemon/runtime/wire_codec.h"
#include "fencing/factory.h"
#include "fencing/levels.h"
#include "net/heartbeat_service.h"
#include "net/identity.h"
#include "net/key_file.h"
#include "net/peer_channel.h"
#include "net/peer_codec.h"
#include "net/topology.h"

namespace veeamha::runtime {

namespace asio = boost::asio;
using namespace std::chrono_literals;

Runtime::Runtime(config::Config config, int local_node, RuntimeOptions options)
    : config_(std::move(config)),
      local_(local_node),
      options_(std::move(options)),
      local_name_(config_.nodes[static_cast<size_t>(local_node)].name),
      peer_name_(config_.nodes[static_cast<size_t>(1 - local_node)].name),
      store_(config_, local_node),
      blocking_(io_, 64),
      wake_(io_),
      watchdog_(io_),
      exit_timer_(io_),
      sync_timer_(io_),
      fence_check_timer_(io_),
      signals_(io_),
      loaded_config_(config_),
      peer_check_timer_(io_) {
    process_start_seconds_ = static_cast<double>(now().wall) / 1000.0;
    last_reload_ = MetricsSnapshot::Stamped{process_start_seconds_, true, 0};  // loaded by main
}

Runtime::~Runtime() { blocking_.close(); }

engine::Time Runtime::now() const {
    using namespace std::chrono;
    return engine::Time{
        duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(),
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()};
}

int Runtime::run() {
    // Boot script: state, key and identity, resources, fencing, network, admin, engine.
    const double run_at_ms = cli::ms_since_process_start();
    engine::PersistedState state;
    std::string error;
    if (!store_.load(state, error)) throw StartupError(error);

    key_ = std::make_unique<net::SecretKey>(net::load_key_file(config_.cluster.key_file));
    net::Identity identity = net::start_identity(config_.cluster.state_dir);
    incarnation_ = identity.incarnation;
    generation_ = identity.generation;

    resources::ResourceEnvironment env;
    env.local_node = local_name_;
    env.daemon_unit = resources::service::own_service_unit();
    for (const auto& r : config_.resources) resources_.push_back(resources::make_resource(r, env));
    fencer_ = fencing::make_fence_levels(config_);

    start_subsystems();
    const double heartbeats_at_ms = cli::ms_since_process_start();
    engine_ = std::make_unique<engine::Engine>(config_, local_);

    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    std::function<void()> wait_signal = [this, &wait_signal] {
        signals_.async_wait([this, &wait_signal](const boost::system::error_code& ec, int signo) {
            if (ec) return;
            on_signal(signo);
            wait_signal();
        });
    };
    wait_signal();

    feed(engine::Started{state, incarnation_, config::digest(config_), net::random_u64(), read_boot_id()});

    if (!config_.sync.empty()) start_sync();
    check_fencing();
    if (sd_watchdog_enabled(0, &watchdog_usec_) > 0 && watchdog_usec_ > 0) pet_watchdog();
    sd_notify(0, "READY=1");
    // How long the start took, for a restart that must be back within the peer's
    // heartbeat.timeout (docs/hosts.md: measured under emulation).
    base::log::notice("veeam-had " + local_name_ + " ready (cluster " + config_.cluster.name + ", " +
                      std::to_string(config_.links()) + " links, port " + std::to_string(config_.heartbeat.port) +
                      "); since the process was created: main() at " + std::to_string(std::lround(options_.main_at_ms)) +
                      " ms, run() at " + std::to_string(std::lround(run_at_ms)) + " ms, first heartbeat at " +
                      std::to_string(std::lround(heartbeats_at_ms)) + " ms, ready at " +
                      std::to_string(std::lround(cli::ms_since_process_start())) + " ms");

    io_.run();

    stop_subsystems();
    // The kept vCenter session ends on vCenter's side too, not when vCenter expires it: the
    // fencing account's sessions are limited there. Bounded: a stuck vCenter does not hold the exit.
    if (fencer_) fencer_->retire(base::Clock::now() + std::chrono::seconds(1));
    return exit_code_;
}

void Runtime::start_subsystems() {
    net::Topology topo = net::Topology::from_config(config_, local_);
    codec_ = std::make_unique<net::PeerCodec>(*key_, topo, net::Identity{generation_, incarnation_});
    net::HeartbeatService::Callbacks hb;
    hb.on_heartbeat = [this](size_t link, const wire::Heartbeat& h, base::Clock::time_point arrived) {
        const engine::Millis at =
            std::chrono::duration_cast<std::chrono::milliseconds>(arrived.time_since_epoch()).count();
        feed(engine::PeerStateIn{static_cast<int>(link), h.incarnation(), from_wire(h.state()), at});
    };
    hb.on_link_change = [this](size_t link, bool up) {
        if (channel_) channel_->set_link_usable(link, up);
        std::string text = "link " + std::to_string(link) + " (" + config_.nodes[size_t(local_)].addresses[link] +
                           " <-> " + config_.nodes[size_t(1 - local_)].addresses[link] + ") " +
                           (up ? "up" : "DOWN: no heartbeat from " + peer_name_ + " on it");
        up ? base::log::notice(text) : base::log::warning(text);
    };
    hb.on_incompatible_peer = [this](uint32_t major, uint32_t minor) {
        base::log::error(peer_name_ + " speaks protocol " + std::to_string(major) + "." +
                   std::to_string(minor) + ", which this version cannot talk to; upgrade both "
                   "nodes to the same major version");
    };
    heartbeats_ = std::make_unique<net::HeartbeatService>(io_, *codec_, hb);
    alerts_ = std::make_unique<AlertRunner>(io_, config_.cluster.name, local_name_);
    alerts_->configure(config_.alerts);

    net::PeerChannel::Callbacks ch;
    ch.on_message = [this](size_t, const wire::PeerMessage& m) { on_peer_message(m); };
    ch.on_connected = [this](size_t link, uint64_t) {
        base::log::info("peer channel to " + peer_name_ + " connected on link " + std::to_string(link));
        if (engine_) publish(engine_->published());  // the peer gets our state at once
        ask_peer_status();                           // and we its failover record
        update_sync_role();                          // and the sync manifests
        schedule_peer_check(std::chrono::seconds(5));  // and compare the hosts
    };
    ch.on_disconnected = [this] {
        base::log::info("peer channel to " + peer_name_ + " disconnected");
        update_sync_role();
    };
    channel_ = std::make_unique<net::PeerChannel>(io_, *codec_,
                                                  net::ChannelOptions::for_topology(topo), ch);
    heartbeats_->start();
    channel_->start();

    admin_ = std::make_unique<AdminServer>(
        io_, config_.cluster.admin_socket,
        [this](const wire::AdminRequest& req, AdminServer::Reply reply) { on_admin(req, reply, false); });
    admin_->start();

    if (config_.cluster.http_listen) {
        HttpServer::Handlers h;
        h.status_json = [this] { return status_to_json(build_status()); };
        h.metrics_text = [this] { return render_metrics(metrics_snapshot()); };
        h.health = [this] { return std::string(exiting_ ? "veeam-had is shutting down" : ""); };
        http_ = std::make_unique<HttpServer>(io_, config_.cluster.http_listen->host,
                                             config_.cluster.http_listen->port, h);
        http_->start();
    }
}

void Runtime::stop_subsystems() {
    if (http_) http_->stop();
    if (admin_) admin_->stop();
    if (channel_) channel_->stop();
    if (heartbeats_) heartbeats_->stop();
    if (alerts_) alerts_->close();
    blocking_.close();
}

void Runtime::feed(const engine::Input& input) {
    if (!engine_ || exiting_) return;
    // Heartbeats that arrived but were not read yet count before this step decides anything
    // (the first node reads them at its next round; a stalled loop may run a timer first).
    if (heartbeats_ && !std::holds_alternative<engine::Started>(input)) {
        heartbeats_->poll();
        if (!engine_ || exiting_) return;
    }
    engine::Outputs outs = engine_->step(now(), input);
    // The step's state first (fsync); its actions only once that is on disk.
    if (outs.persist && !persist(*outs.persist)) return;
    for (auto& a : outs.actions) {
        execute(a);
        if (exiting_) return;
    }
    watch_peer();
    update_sync_role();
    arm_wake();
}

void Runtime::arm_wake() {
    engine::Millis at = engine_->next_wakeup();
    if (at < 0) return;
    engine::Millis delay = std::max<engine::Millis>(1, at - now().mono);
    wake_.expires_after(std::chrono::milliseconds(delay));
    wake_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) feed(engine::Tick{});
    });
}

void Runtime::execute(engine::Action& out) {
    if (auto* p = std::get_if<engine::Publish>(&out)) {
        publish(p->state);
    } else if (auto* r = std::get_if<engine::Run>(&out)) {
        run_resource_op(*r);
    } else if (auto* prep = std::get_if<engine::Prepare>(&out)) {
        prepare_resource(*prep);
    } else if (auto* f = std::get_if<engine::Fence>(&out)) {
        run_fence(*f);
    } else if (auto* ping = std::get_if<engine::Ping>(&out)) {
        run_ping(*ping);
    } else if (auto* rep = std::get_if<engine::Reply>(&out)) {
        on_engine_reply(*rep);
    } else if (auto* e = std::get_if<engine::Event>(&out)) {
        log_event(*e);
    } else if (std::holds_alternative<engine::Exit>(out)) {
        // systemd keeps the last STATUS= after the unit stops (`systemctl status` shows it for
        // an inactive unit): say how the daemon left, not the last running state.
        std::string line;
        if (engine_->maintenance())
            line = "stopped in maintenance mode: resources left as they were";
        else if (engine_->unclean())
            line = "stopped UNCLEAN: a stop failed; " + peer_name_ + " must fence this node";
        else if (engine_->owner_name() == peer_name_)
            line = "stopped: " + peer_name_ + " runs the group";
        else
            line = "stopped: group stopped";
        last_status_line_ = line;
        sd_notify(0, ("STOPPING=1\nSTATUS=" + line).c_str());
        exiting_ = true;
        // Let the last published state leave on every link and the channel, then stop.
        exit_timer_.expires_after(300ms);
        exit_timer_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
    }
}

void Runtime::publish(const engine::NodeState& state) {
    wire::NodeState w = to_wire(state);
    heartbeats_->set_state(w);
    heartbeats_->send_now();
    wire::PeerMessage m;
    *m.mutable_state() = w;
    channel_->send(m);  // queue_full: the heartbeats carry it anyway
    update_systemd_status();
}

bool Runtime::persist(const engine::PersistedState& state) {
    std::string error;
    if (store_.save(state, error)) return true;
    // The engine acts as if this state were on disk (an epoch before a start, a grant before it
    // is published). If it cannot be made durable, stop at once without acting: the peer sees
    // this node lost and fences it, which is safe; going on is not.
    base::log::error("cannot persist the cluster state (" + error + "); exiting without acting on it");
    sd_notify(0, "STATUS=fatal: cannot write the state file");
    exit_code_ = cli::kExitRestart;
    exiting_ = true;
    io_.stop();
    return false;
}

void Runtime::run_resource_op(const engine::Run& r) {
    base::OpContext ctx;
    ctx.deadline = base::Clock::now() + std::chrono::milliseconds(r.timeout);
    ctx.local_node = local_name_;
    ctx.peer_node = peer_name_;
    ctx.peer_released_or_fenced = r.peer_released_or_fenced;
    ctx.hand_over_to = r.hand_over_to;
    base::Resource* res = resources_[r.index].get();
    const uint64_t id = r.op_id;
    const size_t index = r.index;
    const engine::Op op = r.op;
    ops_in_flight_.insert(id);
    ctx.left_running_returned = [post = blocking_.poster(), this, id, index] {
        post([this, id, index] { on_left_running_returned(id, index); });
    };

    auto report = [this, id, index, op](base::Outcome outcome, const std::string& reason, bool still_running) {
        if (auto it = op_timers_.find(id); it != op_timers_.end()) {
            it->second->cancel();
            op_timers_.erase(it);
        }
        feed(engine::ResourceDone{id, index, op, outcome, reason, still_running});
    };
    bool started = blocking_.run<base::OpResult>(
        [res, ctx, op]() {
            switch (op) {
                case engine::Op::Start: return res->start(ctx);
                case engine::Op::Stop: return res->stop(ctx);
                case engine::Op::Monitor: return res->monitor(ctx);
            }
            return base::OpResult::failed("unknown operation");
        },
        [this, report, id, index](base::OpResult result) {
            if (ops_in_flight_.erase(id)) {
                // Left running by the resource itself (a mount(2) blocked in the kernel): the
                // engine hears when that call returns (on_left_running_returned).
                bool landed = result.still_running && landed_early_.erase(id);
                if (result.still_running && !landed) abandoned_ops_.insert(id);
                report(result.outcome, result.reason, result.still_running);
                if (landed) feed(engine::AbandonedDone{id, index});
            } else if (abandoned_ops_.count(id) && !result.still_running) {
                // Reported TimedOut by our timer and left running: now it has returned.
                abandoned_ops_.erase(id);
                feed(engine::AbandonedDone{id, index});
            }
        });
    if (!started) {
        asio::post(io_, [this, report, id] {
            if (ops_in_flight_.erase(id))
                report(base::Outcome::Failed, "too many operations still running (stuck in the kernel?)", false);
        });
        return;
    }
    // An operation that overruns its deadline is reported TimedOut and left running on its
    // thread; the engine learns when it returns (AbandonedDone), since it may still take effect.
    auto timer = std::make_shared<asio::steady_timer>(io_, ctx.deadline + 500ms);
    op_timers_[id] = timer;
    timer->async_wait([this, report, id, op, timeout = r.timeout](const boost::system::error_code& ec) {
        if (ec || !ops_in_flight_.erase(id)) return;
        abandoned_ops_.insert(id);
        report(base::Outcome::TimedOut,
               std::string(engine::to_string(op)) + " still running after its " +
                   engine::format_ms(timeout) + " timeout: left running",
               true);
    });
}

void Runtime::prepare_resource(const engine::Prepare& p) {
    base::OpContext ctx;
    ctx.deadline = base::Clock::now() + 5s;  // prepare() returns at once; this bounds its setup
    ctx.local_node = local_name_;
    ctx.peer_node = peer_name_;
    base::Resource* res = resources_[p.index].get();
    base::log::debug("preparing " + config_.resources[p.index].name + ": " + p.reason);
    // Off the event loop like every resource call; nothing comes back (the Start decides). If
    // too many calls are stuck, the preparation is skipped: the start does the work itself.
    blocking_.run<bool>([res, ctx] { res->prepare(ctx); return true; }, [](bool) {});
}

void Runtime::on_left_running_returned(uint64_t id, size_t index) {
    if (ops_in_flight_.count(id)) {
        landed_early_.insert(id);  // before its result was handled: said with the result
        return;
    }
    if (abandoned_ops_.erase(id)) feed(engine::AbandonedDone{id, index});
}

namespace {

engine::Power power_of(fencing::PowerState state) {
    switch (state) {
        case fencing::PowerState::On: return engine::Power::On;
        case fencing::PowerState::Off: return engine::Power::Off;
        case fencing::PowerState::Suspended: return engine::Power::On;  // it may resume: not off
        case fencing::PowerState::Unknown: break;
    }
    return engine::Power::Unknown;
}

// How soon the engine retries a fence that was not confirmed. A result that names no class
// (nobody classified it) gets the usual backoff.
engine::FenceFault fault_of(fencing::FailureClass failure) {
    switch (failure) {
        case fencing::FailureClass::Transient: return engine::FenceFault::Unanswered;
        case fencing::FailureClass::Credentials: return engine::FenceFault::BadCredentials;
        case fencing::FailureClass::None:
        case fencing::FailureClass::Other: break;
    }
    return engine::FenceFault::Refused;
}

}  // namespace

void Runtime::run_fence(const engine::Fence& f) {
    std::shared_ptr<fencing::Fencer> fencer = fencer_;
    base::Deadline deadline = base::Clock::now() + std::chrono::milliseconds(f.timeout);
    const uint64_t id = f.op_id;
    std::string node = f.node;
    engine::FenceAction action = f.action;
    const engine::Millis began = now().mono;
    bool started = blocking_.run<fencing::FenceResult>(
        [fencer, node, action, deadline] {
            if (!fencer) return fencing::FenceResult{false, fencing::PowerState::Unknown, "",
                                                     "no fencer configured"};
            switch (action) {
                case engine::FenceAction::Off: return fencer->off(node, deadline);
                case engine::FenceAction::On: return fencer->on(node, deadline);
                case engine::FenceAction::Check: return fencer->status(node, deadline);
            }
            return fencing::FenceResult{false, fencing::PowerState::Unknown, "", "unknown fence action"};
        },
        [this, id, action, node, began](fencing::FenceResult r) {
            std::string text = r.fencer.empty() ? r.detail : r.fencer + ": " + r.detail;
            // A fence is history, shown beside the fencing check (which says whether the path
            // works now, and is repeated once the peer is heard again: watch_peer).
            if (action != engine::FenceAction::Check) {
                wire::FenceRecord record;
                record.set_node(node);
                record.set_action(engine::to_string(action));
                record.set_confirmed(r.confirmed);
                record.set_detail(text);
                *record.mutable_at() = timestamp_of(now().wall);
                last_fence_ = std::move(record);
            }
            if (r.confirmed && action == engine::FenceAction::Off) {
                engine::Time t = now();
                last_fence_timing_ = MetricsSnapshot::Stamped{static_cast<double>(t.wall) / 1000.0, true,
                                                              static_cast<double>(t.mono - began) / 1000.0};
            }
            feed(engine::FenceDone{id, r.confirmed, power_of(r.state), text, fault_of(r.failure)});
        });
    if (!started)
        asio::post(io_, [this, id] {
            feed(engine::FenceDone{id, false, engine::Power::Unknown, "too many operations in flight",
                                   engine::FenceFault::Unanswered});
        });
}

void Runtime::run_ping(const engine::Ping& p) {
    const uint64_t id = p.op_id;
    auto targets = config_.policy.ping_targets;
    base::Deadline deadline = base::Clock::now() + config_.policy.ping_timeout;
    bool started = blocking_.run<PingResult>(
        [targets, deadline] { return ping_any(targets, deadline); },
        [this, id](PingResult r) { feed(engine::PingDone{id, r.reachable, r.detail}); });
    if (!started)
        asio::post(io_, [this, id] { feed(engine::PingDone{id, false, "too many operations in flight"}); });
}

void Runtime::log_event(const engine::Event& e) {
    event_counts_[e.kind]++;
    base::log::write(e.level, e.kind + ": " + e.text);
    run_alerts(e);  // each alert program picks its events
}

void Runtime::run_alerts(const engine::Event& e) {
    AlertEvent a;
    a.level = e.level;
    a.kind = e.kind;
    a.text = e.text;
    const bool about_peer = config::event_class(e.kind) == "fencing" || e.kind.rfind("peer-", 0) == 0;
    const int who = about_peer ? 1 - local_ : local_;
    a.node = config_.nodes[static_cast<size_t>(who)].name;
    a.node_id = who + 1;
    if (e.resource >= 0 && static_cast<size_t>(e.resource) < config_.resources.size())
        a.resource = config_.resources[static_cast<size_t>(e.resource)].name;
    if (e.op) a.op = engine::to_string(*e.op);
    a.wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
    if (alerts_) alerts_->submit(a);
}

void Runtime::on_signal(int signo) {
    if (signo == SIGHUP) {
        reload();
        return;
    }
    base::log::notice(std::string("received ") + (signo == SIGTERM ? "SIGTERM" : "SIGINT"));
    sd_notify(0, "STOPPING=1");
    feed(engine::Shutdown{});
}

void Runtime::check_fencing() {
    // Reads the peer's power state through the fencers (no action): a wrong password, UUID,
    // certificate or an unreachable vCenter is reported now, not at the first failover.
    std::shared_ptr<fencing::Fencer> fencer = fencer_;
    std::string peer = peer_name_;
    base::Deadline deadline = base::Clock::now() + config_.fencing.timeout;
    bool started = blocking_.run<fencing::FenceResult>(
        [fencer, peer, deadline] {
            if (!fencer) return fencing::FenceResult{false, fencing::PowerState::Unknown, "",
                                                     "no fencer configured"};
            return fencer->status(peer, deadline);
        },
        [this](fencing::FenceResult r) {
            bool ok = r.confirmed;
            std::string detail = r.fencer.empty() ? r.detail : r.fencer + ": " + r.detail;
            bool changed = record_fencing_check(ok, detail);
            if (changed && ok)
                base::log::notice("fencing check: " + peer_name_ + " can be fenced (" + detail + ")");
            if (changed && !ok) {
                engine::Event e{engine::Level::Error, "fencing-check",
                                "fencing check FAILED: " + peer_name_ +
                                    " could not be fenced now (" + detail +
                                    "); a failover would wait until this is fixed"};
                log_event(e);
            }
        });
    (void)started;  // too busy now: the next round tries again
    fence_check_timer_.expires_after(std::chrono::minutes(5));
    fence_check_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec && !exiting_) check_fencing();
    });
}

void Runtime::watch_peer() {
    const engine::PeerView& pv = engine_->peer();
    engine::Membership was = seen_membership_;
    seen_membership_ = pv.membership;
    // Heard again after it was lost or fenced: what the last check read ("powered off") is no
    // longer true; read its power again now rather than at the next round.
    if (pv.membership == engine::Membership::Up &&
        (was == engine::Membership::Fenced || was == engine::Membership::Lost))
        check_fencing();
    // The peer's configuration changed (a reload there): a comparison made before it reports
    // what no longer is (when both nodes reload, one of them compared with the old one), so
    // compare again.
    if (pv.have_state && pv.state.config_digest != seen_peer_digest_) {
        const bool changed = seen_peer_digest_ != 0;  // the first one: the check at connect covers it
        seen_peer_digest_ = pv.state.config_digest;
        if (changed) schedule_peer_check(std::chrono::seconds(1));
    }
    // The peer runs the group under a new epoch: it may have recorded a failover.
    if (pv.membership == engine::Membership::Up && pv.have_state && pv.state.holding) {
        std::pair<uint64_t, engine::GroupState> now_group{pv.state.epoch, pv.state.group};
        if (now_group != seen_peer_group_ && pv.state.group == engine::GroupState::Started) ask_peer_status();
        seen_peer_group_ = now_group;
    }
}

bool Runtime::record_fencing_check(bool ok, const std::string& detail) {
    bool changed = !fencing_check_ || fencing_check_->ok() != ok;
    wire::FencingCheck c;
    c.set_ok(ok);
    c.set_detail(detail);
    *c.mutable_at() = timestamp_of(now().wall);
    fencing_check_ = std::move(c);
    return changed;
}

void Runtime::pet_watchdog() {
    // Petted from the loop itself: a loop that stops turning stops the pets, and systemd
    // restarts the daemon.
    sd_notify(0, "WATCHDOG=1");
    watchdog_.expires_after(std::chrono::microseconds(watchdog_usec_ / 2));
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) pet_watchdog();
    });
}

std::string Runtime::read_boot_id() {
    // The kernel's id of this boot: a daemon restart sees the same one, a reboot a new one.
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    if (id.empty()) base::log::warning("cannot read /proc/sys/kernel/random/boot_id: every start counts as a reboot (nothing is adopted)");
    return id;
}

void Runtime::update_systemd_status() {
    if (!engine_ || exiting_) return;  // the exit's own STATUS= stays
    std::string line;
    if (engine_->unclean())
        line = "UNCLEAN: a stop failed; waiting to be fenced or for `veeam-hactl cleanup`";
    else if (engine_->holding())
        line = std::string("active: group ") + engine::to_string(engine_->group_state()) +
               " (epoch " + std::to_string(engine_->persisted().epoch) + ")";
    else
        line = "passive: " + (engine_->owner_name().empty() ? std::string("group not running")
                                                             : engine_->owner_name() + " runs the group");
    if (engine_->maintenance()) line += ", maintenance mode";
    if (line == last_status_line_) return;
    last_status_line_ = line;
    sd_notify(0, ("STATUS=" + line).c_str());
}

}  // namespace veeamha::runtime

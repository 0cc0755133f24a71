// SPDX-License-Identifier: GPL-2.0-or-later
// The runtime shell (docs/design.md §2): one io_context on one thread runs the engine; heartbeats and
// the peer channel (net/), resources (storage/, net/ip, daemon/resources), fencing (fencing/),
// ping, persistence, the admin socket and the HTTP endpoint feed it inputs and carry out its
// outputs. Blocking work runs off the loop (BlockingRunner) and comes back as inputs. The
// runtime decides nothing about the cluster; it only translates.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "base/resource.h"
#include "daemon/engine/engine.h"
#include "daemon/runtime/admin_server.h"
#include "daemon/runtime/alert_runner.h"
#include "daemon/runtime/blocking_runner.h"
#include "daemon/runtime/metrics.h"
#include "daemon/runtime/state_store.h"

namespace veeamha::fencing {
class Fencer;
}
namespace veeamha::net {
class PeerCodec;
class HeartbeatService;
class PeerChannel;
class SecretKey;
}

namespace veeamha::runtime {

class HttpServer;
namespace sync {
class SyncService;
class FolderWatch;
enum class Reload;
}

// A startup problem that a restart cannot fix (the daemon exits 1 and systemd does not loop).
struct StartupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct RuntimeOptions {
    std::string config_path;      // for SIGHUP reloads
    std::string node_override;    // --node
    double main_at_ms = -1;       // cli::ms_since_process_start() when main() began (-1: unknown)
};

class Runtime {
public:
    Runtime(config::Config config, int local_node, RuntimeOptions options);
    ~Runtime();

    // Sets everything up (throws std::runtime_error with a clear message on a startup error:
    // key file, state file, sockets), runs until the engine says Exit, tears down in reverse.
    // Returns the process exit code.
    int run();

private:
    // runtime.cc: startup, the engine loop, outputs
    void start_subsystems();
    void stop_subsystems();
    void feed(const engine::Input& input);
    void execute(engine::Action& out);
    void arm_wake();
    engine::Time now() const;
    void run_resource_op(const engine::Run& run);
    void run_fence(const engine::Fence& fence);
    void run_ping(const engine::Ping& ping);
    void prepare_resource(const engine::Prepare& p);
    void on_left_running_returned(uint64_t id, size_t index);
    // false: not written, and the daemon is exiting without acting on it.
    bool persist(const engine::PersistedState& state);
    static std::string read_boot_id();
    void publish(const engine::NodeState& state);
    void log_event(const engine::Event& e);
    void run_alerts(const engine::Event& e);
    void on_signal(int signo);
    void pet_watchdog();
    void update_systemd_status();
    // runtime_sync.cc: `sync:`
    void start_sync();
    void update_sync_role();
    void sync_backstop();
    void run_sync_reload(sync::Reload what);
    void check_fencing();
    // Records what `veeam-hactl status` shows as "Fencing:"; true if ok/failing changed.
    bool record_fencing_check(bool ok, const std::string& detail);

    // runtime_admin.cc: admin socket, forwarding over the channel, status, metrics
    void on_admin(const wire::AdminRequest& request, AdminServer::Reply reply, bool from_peer);
    void on_engine_reply(const engine::Reply& reply);
    void on_peer_message(const wire::PeerMessage& message);
    void forward_to_peer(uint64_t request_id);
    wire::Status build_status() const;
    MetricsSnapshot metrics_snapshot() const;
    // Asks the peer for its status, for the failover it recorded (a node fenced in it has none).
    void ask_peer_status();
    void on_peer_status(const wire::AdminResponse& response);
    // After each step: what the peer's comings and goings mean for status (a fresh fencing
    // check once it is heard again, its failover record once it runs the group).
    void watch_peer();

    // runtime_reload.cc: SIGHUP
    void reload();

    // runtime_peer_check.cc: "the two hosts are one" (veeam-hactl check --peer), also every
    // 5 minutes, after the peer joins and after a reload. Drift is logged, counted in metrics
    // and alerted; the engine never sees it.
    void schedule_peer_check(std::chrono::milliseconds delay);
    void start_peer_check(std::optional<AdminServer::Reply> reply);
    void on_facts_request(const wire::PeerMessage& message);
    void on_facts_reply(const wire::PeerMessage& message);
    void finish_peer_check(std::optional<std::string> error);
    void record_peer_check(const wire::PeerCheck& check);

    config::Config config_;
    int local_;
    RuntimeOptions options_;
    std::string local_name_, peer_name_;

    boost::asio::io_context io_;
    std::unique_ptr<engine::Engine> engine_;
    StateStore store_;
    BlockingRunner blocking_;
    std::vector<std::unique_ptr<base::Resource>> resources_;
    std::shared_ptr<fencing::Fencer> fencer_;
    std::unique_ptr<net::SecretKey> key_;
    std::unique_ptr<net::PeerCodec> codec_;
    std::unique_ptr<net::HeartbeatService> heartbeats_;
    std::unique_ptr<net::PeerChannel> channel_;
    std::unique_ptr<AdminServer> admin_;
    std::unique_ptr<HttpServer> http_;
    boost::asio::steady_timer wake_;
    boost::asio::steady_timer watchdog_;
    boost::asio::steady_timer exit_timer_;
    boost::asio::steady_timer sync_timer_;  // the periodic full compare
    boost::asio::steady_timer fence_check_timer_;
    std::optional<wire::FencingCheck> fencing_check_;
    std::optional<wire::FenceRecord> last_fence_;        // the last fence this daemon carried out
    std::optional<wire::FailoverRecord> peer_failover_;  // the last failover the peer recorded
    std::set<uint64_t> peer_status_requests_;            // ask_peer_status, not answered yet
    engine::Membership seen_membership_ = engine::Membership::Unknown;
    std::pair<uint64_t, engine::GroupState> seen_peer_group_{0, engine::GroupState::Unknown};
    uint64_t seen_peer_digest_ = 0;  // the peer's config digest last seen (0: none yet)
    std::unique_ptr<sync::SyncService> sync_;
    std::unique_ptr<sync::FolderWatch> sync_watch_;
    std::map<int, bool> sync_reloads_;  // Reload -> runs now, again once it ended (true)
    bool told_old_sync_ = false;
    boost::asio::signal_set signals_;
    uint64_t incarnation_ = 0;
    uint64_t generation_ = 0;

    // Resource operations in flight, and those reported TimedOut at their deadline whose thread
    // has not returned yet (the engine hears when it does: AbandonedDone).
    std::set<uint64_t> ops_in_flight_;
    std::set<uint64_t> abandoned_ops_;  // reported TimedOut, left running: AbandonedDone when they return
    std::set<uint64_t> landed_early_;   // left running, returned before their result was handled
    std::map<uint64_t, std::shared_ptr<boost::asio::steady_timer>> op_timers_;

    // Admin requests waiting for the engine or for the peer.
    struct PendingAdmin {
        wire::AdminRequest request;
        AdminServer::Reply reply;
        bool from_peer = false;
        std::shared_ptr<boost::asio::steady_timer> timer;
    };
    std::map<uint64_t, PendingAdmin> admin_pending_;
    uint64_t next_request_id_ = 1;

    bool exiting_ = false;
    int exit_code_ = 0;
    std::string last_status_line_;
    uint64_t watchdog_usec_ = 0;
    std::map<std::string, uint64_t> event_counts_;
    // For /metrics: what neither the engine nor the status keeps.
    double process_start_seconds_ = 0;
    std::optional<MetricsSnapshot::Stamped> last_fence_timing_;  // the last confirmed power-off
    MetricsSnapshot::Stamped last_reload_;                // the load at start counts
    std::unique_ptr<AlertRunner> alerts_;

    // The peer check (runtime_peer_check.cc).
    config::Config loaded_config_;  // the file as last loaded (config_ keeps restart-only settings)
    boost::asio::steady_timer peer_check_timer_;
    struct PeerCheckRound {
        uint64_t id = 0;
        int64_t sent_us = 0, answered_us = 0;  // our wall clock: request sent, reply received
        std::optional<wire::HostFacts> local;
        std::optional<wire::FactsReply> peer;
        std::vector<AdminServer::Reply> waiting;
        std::shared_ptr<boost::asio::steady_timer> timeout;
    };
    std::optional<PeerCheckRound> peer_check_round_;
    std::optional<wire::PeerCheck> last_peer_check_;
    std::set<std::string> drift_reported_;  // items reported different, until they are ok again
};

}  // namespace veeamha::runtime

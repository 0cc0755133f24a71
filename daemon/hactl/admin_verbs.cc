// SPDX-License-Identifier: GPL-2.0-or-later
// The verbs that talk to the running daemon over its admin socket (cluster.admin_socket):
// status, move, standby, unstandby, maintenance, cleanup, confirm-fenced, history. A verb about
// the other node is forwarded by the daemon over the peer channel. `history` reads the state
// file when the daemon is down.
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>

#include "daemon/cli/cli.h"
#include "daemon/hactl/verbs.h"
#include "daemon/hactl/fence_verbs.h"
#include "daemon/runtime/admin_client.h"
#include "daemon/runtime/peer_compare.h"
#include "daemon/runtime/state_store.h"
#include "daemon/runtime/status_check.h"
#include "daemon/runtime/status_json.h"

namespace veeamha::hactl {
namespace {

using namespace std::chrono_literals;

int usage(const Invocation& inv, const std::string& text) {
    std::cerr << inv.program << ": " << inv.verb << ": " << text << "\n";
    return cli::kExitUsage;
}

// Sends one request to this node's daemon; prints errors; returns the exit code.
int call(const Invocation& inv, const wire::AdminRequest& req, wire::AdminResponse& resp) {
    // Only the admin socket's path is needed: configuration warnings are `check`'s business.
    std::ostringstream diagnostics;
    auto config = cli::load_config(inv.config_path, false, diagnostics);
    if (!config) {
        std::cerr << diagnostics.str();
        return cli::kExitFailure;
    }
    std::string error;
    // Forwarded commands may wait for the peer (5 s) and for the engine; stay above that.
    // confirm-fenced first reads the peer's power through the fencers (up to fencing.timeout).
    std::chrono::milliseconds timeout = 10s;
    if (req.has_confirm_fenced()) timeout += config->fencing.timeout;
    if (!runtime::admin_call(config->cluster.admin_socket, req, resp, timeout, error)) {
        std::cerr << inv.program << ": " << error << "\n";
        return cli::kExitFailure;
    }
    if (!resp.ok()) {
        std::cerr << inv.program << ": " << inv.verb << ": " << resp.error() << "\n";
        return cli::kExitFailure;
    }
    return cli::kExitOk;
}

int simple(const Invocation& inv, const wire::AdminRequest& req) {
    wire::AdminResponse resp;
    int rc = call(inv, req, resp);
    if (rc == cli::kExitOk && !resp.message().empty()) std::cout << resp.message() << "\n";
    return rc;
}

// Takes at most one positional argument.
bool one_arg(const Invocation& inv, std::vector<std::string>& args, std::string& value) {
    if (args.size() > 1) return false;
    if (!args.empty()) value = args[0];
    (void)inv;
    return true;
}

}  // namespace

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

// The status from this node's daemon, or false with `error` (nothing printed).
bool fetch_status(const Invocation& inv, wire::Status& status, std::string& error) {
    std::ostringstream diagnostics;
    auto config = cli::load_config(inv.config_path, false, diagnostics);
    if (!config) {
        error = diagnostics.str();
        while (!error.empty() && error.back() == '\n') error.pop_back();
        return false;
    }
    wire::AdminRequest req;
    req.mutable_status();
    wire::AdminResponse resp;
    if (!runtime::admin_call(config->cluster.admin_socket, req, resp, 10s, error)) return false;
    if (!resp.ok()) {
        error = resp.error();
        return false;
    }
    status = resp.status();
    return true;
}

// Redraws until SIGINT/SIGTERM (like watch(1)); on a terminal the screen is cleared first.
int watch_status(const Invocation& inv, bool json, std::chrono::milliseconds interval) {
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    while (!g_interrupted) {
        wire::Status st;
        std::string error;
        bool ok = fetch_status(inv, st, error);
        if (tty) std::cout << "\033[H\033[2J";
        std::cout << "Every " << interval.count() / 1000.0 << "s: veeam-hactl status  "
                  << runtime::iso8601_utc(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count())
                  << "\n\n";
        if (ok) std::cout << (json ? runtime::status_to_json(st) : runtime::status_to_text(st));
        else std::cout << error << "\n";
        if (!tty) std::cout << "\n";
        std::cout.flush();
        // Sleeps in small steps so that an interrupt ends it at once.
        auto until = std::chrono::steady_clock::now() + interval;
        while (!g_interrupted && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                50ms, until - std::chrono::steady_clock::now()));
    }
    return cli::kExitOk;
}

}  // namespace

int hactl_status(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    const char* usage_line = "usage: status [--json] [--watch [--interval SECONDS]] | status --check";
    bool json = cli::take_flag(args, "--json");
    bool check = cli::take_flag(args, "--check");
    bool watch = cli::take_flag(args, "--watch");
    std::chrono::milliseconds interval = 2s;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] != "--interval") continue;
        if (i + 1 >= args.size()) return usage(inv, std::string("--interval needs a value (") + usage_line + ")");
        double seconds = 0;
        try {
            size_t used = 0;
            seconds = std::stod(args[i + 1], &used);
            if (used != args[i + 1].size()) throw std::invalid_argument("trailing");
        } catch (...) {
            seconds = -1;
        }
        if (!(seconds >= 0.1 && seconds <= 3600))
            return usage(inv, "--interval: expected seconds between 0.1 and 3600, found '" + args[i + 1] + "'");
        interval = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
        if (!watch) return usage(inv, std::string("--interval goes with --watch (") + usage_line + ")");
        args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
        break;
    }
    if (!args.empty()) return usage(inv, "unexpected argument " + args[0] + " (" + usage_line + ")");
    if (check && (json || watch)) return usage(inv, std::string("--check stands alone (") + usage_line + ")");
    if (check) {
        // A monitoring plugin: one line on stdout, the state in the exit code, never 64.
        wire::Status st;
        std::string error;
        runtime::HealthCheck h = fetch_status(inv, st, error) ? runtime::check_health(st)
                                                              : runtime::health_unknown(error);
        std::cout << h.line << "\n";
        return static_cast<int>(h.health);
    }
    if (watch) return watch_status(inv, json, interval);
    wire::AdminRequest req;
    req.mutable_status();
    wire::AdminResponse resp;
    int rc = call(inv, req, resp);
    if (rc != cli::kExitOk) return rc;
    std::cout << (json ? runtime::status_to_json(resp.status()) : runtime::status_to_text(resp.status()));
    return rc;
}

int hactl_move(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    wire::AdminRequest req;
    std::string node;
    if (!one_arg(inv, args, node)) return usage(inv, "usage: move [NODE]");
    req.mutable_move()->set_node(node);
    return simple(inv, req);
}

int hactl_standby(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    wire::AdminRequest req;
    std::string node;
    if (!one_arg(inv, args, node)) return usage(inv, "usage: " + inv.verb + " [NODE]");
    (inv.verb == "standby" ? req.mutable_standby() : req.mutable_unstandby())->set_node(node);
    return simple(inv, req);
}

int hactl_maintenance(const Invocation& inv) {
    if (inv.args.size() != 1 || (inv.args[0] != "on" && inv.args[0] != "off"))
        return usage(inv, "usage: maintenance on|off");
    wire::AdminRequest req;
    req.mutable_maintenance()->set_on(inv.args[0] == "on");
    return simple(inv, req);
}

int hactl_cleanup(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    wire::AdminRequest req;
    std::string resource;
    if (!one_arg(inv, args, resource)) return usage(inv, "usage: cleanup [RESOURCE]");
    req.mutable_cleanup()->set_resource(resource);
    return simple(inv, req);
}

int hactl_confirm_fenced(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    bool yes = cli::take_flag(args, "--yes");
    if (args.size() != 1) return usage(inv, "usage: confirm-fenced NODE --yes");
    if (!yes) {
        std::cerr << inv.program << ": confirm-fenced tells the cluster that " << args[0]
                  << " is powered off although\nno fence confirmed it. If " << args[0]
                  << " is in fact running, both nodes will mount the\nrepository and the "
                     "backups on it can be destroyed. Check it by hand (vSphere client,\niLO/"
                     "iDRAC, the power cable), then run again with --yes.\n";
        return cli::kExitUsage;
    }
    wire::AdminRequest req;
    req.mutable_confirm_fenced()->set_node(args[0]);
    return simple(inv, req);
}

namespace {

void print_history(const std::vector<std::tuple<int64_t, std::string, std::string>>& entries) {
    for (const auto& [at, kind, text] : entries)
        std::cout << runtime::iso8601_utc(at) << "  " << kind << ": " << text << "\n";
    if (entries.empty()) std::cout << "no history yet\n";
}

// The daemon is down: the same history from its state file (cluster.state_dir/state.pb), which
// it writes (fsync) with every entry.
int history_from_disk(const Invocation& inv, uint32_t limit, const std::string& why) {
    auto config = cli::load_config(inv.config_path, false, std::cerr);
    if (!config) return cli::kExitFailure;
    auto local = config::resolve_local_node(*config, inv.node_override);
    if (!std::holds_alternative<int>(local)) {
        std::cerr << inv.program << ": " << why << "\n"
                  << inv.program << ": history: cannot read it from disk either: cannot tell which node this host is "
                  << "(give --node NAME)\n";
        return cli::kExitFailure;
    }
    runtime::StateStore store(*config, std::get<int>(local));
    engine::PersistedState state;
    std::string error;
    if (!store.read(state, error)) {
        std::cerr << inv.program << ": " << why << "\n" << inv.program << ": history: " << error << "\n";
        return cli::kExitFailure;
    }
    std::cerr << inv.program << ": veeam-had is not running on this node; history as of its last write, from "
              << store.path() << "\n";
    std::vector<std::tuple<int64_t, std::string, std::string>> entries;
    size_t from = state.history.size() > limit ? state.history.size() - limit : 0;
    for (size_t i = from; i < state.history.size(); ++i)
        entries.emplace_back(state.history[i].wall, state.history[i].kind, state.history[i].text);
    print_history(entries);
    return cli::kExitOk;
}

}  // namespace

int hactl_history(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    std::string n;
    if (!one_arg(inv, args, n)) return usage(inv, "usage: history [COUNT]");
    uint32_t limit = 20;
    if (!n.empty()) {
        try {
            limit = static_cast<uint32_t>(std::stoul(n));
        } catch (...) {
            return usage(inv, "COUNT must be a number, not '" + n + "'");
        }
    }
    std::ostringstream diagnostics;
    auto config = cli::load_config(inv.config_path, false, diagnostics);
    if (!config) {
        std::cerr << diagnostics.str();
        return cli::kExitFailure;
    }
    wire::AdminRequest req;
    req.mutable_history()->set_limit(limit);
    wire::AdminResponse resp;
    std::string error;
    bool not_running = false;
    if (!runtime::admin_call(config->cluster.admin_socket, req, resp, 10s, error, &not_running)) {
        if (not_running) return history_from_disk(inv, limit, error);
        std::cerr << inv.program << ": " << error << "\n";
        return cli::kExitFailure;
    }
    if (!resp.ok()) {
        std::cerr << inv.program << ": " << inv.verb << ": " << resp.error() << "\n";
        return cli::kExitFailure;
    }
    std::vector<std::tuple<int64_t, std::string, std::string>> entries;
    for (const auto& e : resp.history()) entries.emplace_back(e.at_unix_ms(), e.kind(), e.text());
    print_history(entries);
    return cli::kExitOk;
}

int hactl_fence(const Invocation& inv) {
    auto config = cli::load_config(inv.config_path, true, std::cerr);
    if (!config) return cli::kExitFailure;
    auto local = config::resolve_local_node(*config, inv.node_override);
    int index = std::holds_alternative<int>(local) ? std::get<int>(local) : -1;
    return fence_command(*config, index, inv.args);
}

int hactl_check_peer(const Invocation& inv) {
    // The daemon reads both hosts (the peer over the channel) and compares: one line per item.
    std::ostringstream diagnostics;
    auto config = cli::load_config(inv.config_path, false, diagnostics);
    if (!config) {
        std::cerr << diagnostics.str();
        return 3;
    }
    wire::AdminRequest req;
    req.mutable_peer_check();
    wire::AdminResponse resp;
    std::string error;
    if (!runtime::admin_call(config->cluster.admin_socket, req, resp, 45s, error)) {
        std::cerr << inv.program << ": " << error << "\n";
        return 3;
    }
    if (!resp.ok() || !resp.has_peer_check()) {
        std::cerr << inv.program << ": check --peer: " << (resp.ok() ? "no answer (veeam-had too old?)" : resp.error()) << "\n";
        return 3;
    }
    std::cout << runtime::format_peer_check(resp.peer_check());
    return runtime::peer_check_exit_code(resp.peer_check());
}

}  // namespace veeamha::hactl

// SPDX-License-Identifier: GPL-2.0-or-later
// The verbs that talk to the running daemon over its admin socket (cluster.admin_socket):
// status, move, standby, unstandby, maintenance, cleanup, confirm-fenced, history. A verb about
// the other node is forwarded by the daemon over the peer channel.
#include <iostream>
#include <sstream>

#include "daemon/cli/cli.h"
#include "daemon/hactl/verbs.h"
#include "daemon/hactl/fence_verbs.h"
#include "daemon/runtime/admin_client.h"
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

int hactl_status(const Invocation& inv) {
    std::vector<std::string> args = inv.args;
    bool json = cli::take_flag(args, "--json");
    if (!args.empty()) return usage(inv, "unexpected argument " + args[0] + " (usage: status [--json])");
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
    wire::AdminRequest req;
    req.mutable_history()->set_limit(limit);
    wire::AdminResponse resp;
    int rc = call(inv, req, resp);
    if (rc != cli::kExitOk) return rc;
    for (const auto& e : resp.history())
        std::cout << runtime::iso8601_utc(e.at_unix_ms()) << "  " << e.kind() << ": " << e.text() << "\n";
    if (resp.history().empty()) std::cout << "no history yet\n";
    return rc;
}

int hactl_fence(const Invocation& inv) {
    auto config = cli::load_config(inv.config_path, true, std::cerr);
    if (!config) return cli::kExitFailure;
    auto local = config::resolve_local_node(*config, inv.node_override);
    int index = std::holds_alternative<int>(local) ? std::get<int>(local) : -1;
    return fence_command(*config, index, inv.args);
}

}  // namespace veeamha::hactl

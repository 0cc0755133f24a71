// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/hactl/verbs.h"

#include <iostream>

#include "daemon/cli/cli.h"

namespace veeamha::hactl {

const std::vector<Verb>& verbs() {
    static const std::vector<Verb> table = {
        {"status", "[--json] [--watch [--interval S]] | --check",
         "nodes, links, owner, resources, failures, fencing; --check: one line, exit 0-3", hactl_status},
        {"move", "[NODE]", "hand the group over cleanly to NODE (default: the peer)", hactl_move},
        {"standby", "[NODE]", "NODE (default: this one) gives up the group", hactl_standby},
        {"unstandby", "[NODE]", "NODE may run the group again", hactl_standby},
        {"maintenance", "on|off",
         "cluster-wide: nothing is started, stopped or fenced", hactl_maintenance},
        {"cleanup", "[RESOURCE]", "reset fail counts and unclean state, probe again", hactl_cleanup},
        {"confirm-fenced", "NODE --yes",
         "NODE is off (checked by hand): allow the takeover", hactl_confirm_fenced},
        {"fence", "list|status|off|on|reboot [NODE]",
         "the fencers directly; list shows VM names and UUIDs", hactl_fence},
        {"history", "[COUNT]", "recent failovers, fences and failures, and why", hactl_history},
        {"keygen", "[--force]",
         "write a new cluster key to cluster.key_file", hactl_keygen},
        {"check", "[FILE] [--no-file-checks] [--quiet] | --peer",
         "validate the configuration, summarise it; --peer: compare both hosts, exit 0/1/3", hactl_check},
        {"import-pcs", "CIB.xml|- [--corosync FILE]",
         "print the configuration equivalent to a Pacemaker cluster", hactl_import_pcs},
    };
    return table;
}

const Verb* find_verb(const std::string& name) {
    for (const auto& verb : verbs())
        if (name == verb.name) return &verb;
    return nullptr;
}

int hactl_check(const Invocation& invocation) {
    std::vector<std::string> args = invocation.args;
    if (cli::take_flag(args, "--peer")) {
        if (!args.empty()) {
            std::cerr << invocation.program << ": check --peer: unexpected argument " << args[0] << "\n";
            return cli::kExitUsage;
        }
        return hactl_check_peer(invocation);
    }
    bool check_files = !cli::take_flag(args, "--no-file-checks");
    bool quiet = cli::take_flag(args, "--quiet");
    std::string path = invocation.config_path;
    if (!args.empty() && args[0].rfind("-", 0) != 0) {
        path = args[0];
        args.erase(args.begin());
    }
    if (!args.empty()) {
        std::cerr << invocation.program << ": check: unexpected argument " << args[0]
                  << "\nusage: " << invocation.program << " check [FILE] [--no-file-checks] [--quiet]\n";
        return cli::kExitUsage;
    }
    return cli::check_config(path, invocation.node_override, check_files, quiet, std::cout, std::cerr);
}

}  // namespace veeamha::hactl

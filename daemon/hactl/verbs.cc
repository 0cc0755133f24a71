// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/hactl/verbs.h"

#include <iostream>

#include "daemon/hactl/cli.h"

namespace veeamha::hactl {

#ifdef VEEAMHA_HACTL_FENCE
#define VEEAMHA_FENCE_VERB hactl_fence
#else
#define VEEAMHA_FENCE_VERB nullptr
#endif

const std::vector<Verb>& verbs() {
    static const std::vector<Verb> table = {
        {"status", "[--json]",
         "the cluster at a glance: nodes, links, owner, epoch, resources, last failover", nullptr},
        {"move", "[NODE]", "hand the group over cleanly to NODE (default: the peer)", nullptr},
        {"standby", "[NODE]", "NODE (default: this one) gives up the group and takes nothing",
         nullptr},
        {"unstandby", "[NODE]", "NODE may run the group again", nullptr},
        {"maintenance", "on|off",
         "cluster-wide: nothing is started, stopped, recovered or fenced (the upgrade path)",
         nullptr},
        {"cleanup", "[RESOURCE]", "reset the fail counts of RESOURCE (default: all)", nullptr},
        {"confirm-fenced", "NODE",
         "you checked by hand that NODE is powered off: allow the takeover", nullptr},
        {"fence", "list|status|off|on|reboot [NODE]",
         "use the fencers directly; `fence list` shows VM names, UUIDs, power states",
         VEEAMHA_FENCE_VERB},
        {"history", "", "recent decisions (failovers, fences, failures) and why", nullptr},
        {"keygen", "[--force]",
         "write a new cluster key (32 random bytes, mode 0600) to cluster.key_file", hactl_keygen},
        {"check", "[FILE] [--no-file-checks]",
         "validate the configuration and summarise what the cluster will do", hactl_check},
    };
    return table;
}

const Verb* find_verb(const std::string& name) {
    for (const auto& verb : verbs())
        if (name == verb.name) return &verb;
    return nullptr;
}

int not_yet_available(const Invocation& invocation) {
    std::cerr << invocation.program << ": '" << invocation.verb
              << "' is not yet available in this build (it needs the running daemon, which is "
                 "not built yet)\n";
    return cli::kExitNotAvailable;
}

int hactl_check(const Invocation& invocation) {
    std::vector<std::string> args = invocation.args;
    bool check_files = !cli::take_flag(args, "--no-file-checks");
    std::string path = invocation.config_path;
    if (!args.empty() && args[0].rfind("-", 0) != 0) {
        path = args[0];
        args.erase(args.begin());
    }
    if (!args.empty()) {
        std::cerr << invocation.program << ": check: unexpected argument " << args[0]
                  << "\nusage: " << invocation.program << " check [FILE] [--no-file-checks]\n";
        return cli::kExitUsage;
    }
    return cli::check_config(path, invocation.node_override, check_files, std::cout, std::cerr);
}

}  // namespace veeamha::hactl

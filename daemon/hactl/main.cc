// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-hactl: the administrator's command line (docs/design.md §8).
#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "daemon/cli/cli.h"
#include "daemon/hactl/verbs.h"

namespace {

using namespace veeamha;

void print_help(std::ostream& out) {
    out << "Usage: veeam-hactl [--config FILE] [--node NAME] VERB [ARGS]\n"
           "\n"
           "Administer a veeam-had cluster (two-node HA for a Veeam Linux repository).\n"
           "\n"
           "Verbs:\n";
    size_t width = 0;
    for (const auto& v : hactl::verbs())
        width = std::max(width, std::string(v.name).size() + 1 + std::string(v.usage).size());
    for (const auto& v : hactl::verbs()) {
        std::string left = std::string(v.name) + (v.usage[0] ? " " : "") + v.usage;
        out << "  " << left << std::string(width + 2 - left.size(), ' ') << v.summary << "\n";
    }
    out << "\n"
           "Options:\n"
           "  -c, --config FILE  the configuration (default: /etc/veeam-ha.yaml)\n"
           "  -n, --node NAME    this node's name in the configuration (default: the host name)\n"
           "  -h, --help         this help\n"
           "      --version      the version\n"
           "\n"
           "Exit codes:\n"
           "  0   done\n"
           "  1   failed, or the configuration is invalid (every error is printed)\n"
           "  2   refused by a safety check (fence without --yes, fencing this node itself)\n"
           "  3   check --peer: the peer could not be asked (1: something differs)\n"
           "  64  bad command line\n";
}

}  // namespace

int main(int argc, char** argv) {
    // A fence agent that exits without reading its stdin is an error code, not our death.
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    hactl::Invocation inv;

    std::optional<std::string> config_path, node;
    std::string error;
    if (!cli::take_option(args, "--config", "-c", config_path, error) ||
        !cli::take_option(args, "--node", "-n", node, error)) {
        std::cerr << "veeam-hactl: " << error << "\n";
        return cli::kExitUsage;
    }
    inv.config_given = config_path.has_value();
    inv.config_path = config_path.value_or(cli::kDefaultConfig);
    inv.node_override = node.value_or("");
    if (inv.node_override.empty() && node) {
        std::cerr << "veeam-hactl: --node needs a name\n";
        return cli::kExitUsage;
    }

    if (args.empty()) {
        print_help(std::cerr);
        return cli::kExitUsage;
    }
    const std::string first = args[0];
    if (first == "-h" || first == "--help" || first == "help") {
        print_help(std::cout);
        return cli::kExitOk;
    }
    if (first == "--version") {
        std::cout << "veeam-hactl " << VEEAMHA_VERSION << "\n";
        return cli::kExitOk;
    }
    if (first[0] == '-') {
        std::cerr << "veeam-hactl: unknown option " << first << " (see veeam-hactl --help)\n";
        return cli::kExitUsage;
    }
    const hactl::Verb* verb = hactl::find_verb(first);
    if (!verb) {
        std::cerr << "veeam-hactl: unknown verb " << first << " (see veeam-hactl --help)\n";
        return cli::kExitUsage;
    }
    inv.verb = verb->name;
    inv.args.assign(args.begin() + 1, args.end());
    return verb->run(inv);
}

// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-had: the cluster daemon. This file parses the command line, loads and validates the
// configuration, finds which node this is, and then hands over to the runtime (run_daemon).
#include <csignal>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/hactl/cli.h"
#include "daemon/runtime/runtime.h"
#include "net/key_file.h"
#include "proto/version.h"

namespace {

using namespace veeamha;

void print_help(std::ostream& out) {
    out << "usage: veeam-had [--config FILE] [--node NAME]\n"
           "       veeam-had --check-config [FILE] [--node NAME] [--no-file-checks] [--quiet]\n"
           "       veeam-had --version | --help\n"
           "\n"
           "Two-node active/passive HA daemon for a Veeam Linux backup repository. systemd\n"
           "starts it (veeam-had.service); administer it with veeam-hactl.\n"
           "\n"
           "  -c, --config FILE       the configuration (default: /etc/veeam-ha.yaml)\n"
           "  -n, --node NAME         this node's name in the configuration (default: the host\n"
           "                          name, then its part before the first dot)\n"
           "      --check-config [FILE]\n"
           "                          validate the configuration and print what the cluster\n"
           "                          will do, or every error found; starts nothing\n"
           "      --no-file-checks    with --check-config: do not look at the key, password, CA\n"
           "                          and program files it names (checking a file written for\n"
           "                          other machines)\n"
           "      --quiet             with --check-config: print nothing if the file is valid,\n"
           "                          every error and warning if not (what `systemctl reload\n"
           "                          veeam-had` runs before it signals the daemon)\n"
           "  -h, --help              this help\n"
           "      --version           the version\n"
           "\n"
           "Exit codes:\n"
           "  0   --check-config: the configuration is valid; daemon: stopped cleanly\n"
           "  1   the configuration is invalid (every error is printed), this host is not one of\n"
           "      its nodes, or a startup check failed that a restart cannot fix (key file,\n"
           "      state file of another node)\n"
           "  3   another failure (systemd restarts the daemon)\n"
           "  64  bad command line\n";
}

// Runs the daemon. Exit codes: 1 for what a restart cannot fix (bad key file, a state file of
// another node), so systemd does not loop (RestartPreventExitStatus); 3 for other failures.
int run_daemon(const config::Config& config, int local_node, const std::string& path,
               const std::string& node_override) {
    std::signal(SIGPIPE, SIG_IGN);  // a peer or vCenter closing a socket is an error code, not death
    try {
        runtime::Runtime rt(config, local_node, runtime::RuntimeOptions{path, node_override});
        return rt.run();
    } catch (const net::KeyFileError& e) {
        std::cerr << "veeam-had: " << e.what() << "\n";
        return cli::kExitFailure;
    } catch (const runtime::StartupError& e) {
        std::cerr << "veeam-had: " << e.what() << "\n";
        return cli::kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "veeam-had: " << e.what() << "\n";
        return 3;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (cli::take_flag(args, "--help") || cli::take_flag(args, "-h")) {
        print_help(std::cout);
        return cli::kExitOk;
    }
    if (cli::take_flag(args, "--version")) {
        std::cout << "veeam-had " << VEEAMHA_VERSION << " (protocol " << wire::kProtocolMajor
                  << "." << wire::kProtocolMinor << ")\n";
        return cli::kExitOk;
    }
    std::optional<std::string> config_path, node;
    std::string error;
    if (!cli::take_option(args, "--config", "-c", config_path, error) ||
        !cli::take_option(args, "--node", "-n", node, error)) {
        std::cerr << "veeam-had: " << error << "\n";
        return cli::kExitUsage;
    }
    const std::string path = config_path.value_or(cli::kDefaultConfig);
    const std::string node_override = node.value_or("");

    // --check-config [FILE]: FILE, when given, wins over --config.
    bool check = false;
    std::string check_path = path;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--check-config") {
            check = true;
            if (i + 1 < args.size() && args[i + 1].rfind("-", 0) != 0) {
                check_path = args[i + 1];
                args.erase(args.begin() + static_cast<long>(i) + 1);
            }
            args.erase(args.begin() + static_cast<long>(i));
            break;
        }
        if (args[i].rfind("--check-config=", 0) == 0) {
            check = true;
            check_path = args[i].substr(std::string("--check-config=").size());
            args.erase(args.begin() + static_cast<long>(i));
            break;
        }
    }
    const bool no_file_checks = cli::take_flag(args, "--no-file-checks");
    const bool quiet = cli::take_flag(args, "--quiet");
    if (!args.empty()) {
        std::cerr << "veeam-had: unexpected argument " << args[0] << " (see veeam-had --help)\n";
        return cli::kExitUsage;
    }
    if ((no_file_checks || quiet) && !check) {
        std::cerr << "veeam-had: " << (no_file_checks ? "--no-file-checks" : "--quiet")
                  << " only goes with --check-config\n";
        return cli::kExitUsage;
    }
    if (check) {
        if (!quiet) return cli::check_config(check_path, node_override, !no_file_checks, std::cout, std::cerr);
        // --quiet (ExecReload= before SIGHUP): nothing when the file is valid (the daemon logs
        // its warnings itself when it reloads), every error and warning when it is not, so a
        // refused reload says why in the unit's journal.
        std::ostringstream summary, problems;
        int rc = cli::check_config(check_path, node_override, !no_file_checks, summary, problems);
        if (rc != cli::kExitOk) std::cerr << problems.str() << std::flush;
        return rc;
    }

    auto config = cli::load_config(path, true, std::cerr);
    if (!config) return cli::kExitFailure;
    auto local = config::resolve_local_node(*config, node_override);
    if (!std::holds_alternative<int>(local)) {
        std::cerr << "veeam-had: " << std::get<std::string>(local) << "\n";
        return cli::kExitFailure;
    }
    return run_daemon(*config, std::get<int>(local), path, node_override);
}

// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-had: the cluster daemon. main() is the boot script: read the command line, load and
// validate the configuration, find which node this is, run the runtime, return its exit code.
#include <getopt.h>

#include <csignal>
#include <iostream>
#include <optional>
#include <string>

#include "config/config.h"
#include "daemon/cli/cli.h"
#include "daemon/runtime/runtime.h"
#include "net/key_file.h"
#include "proto/version.h"

namespace {

using namespace veeamha;

void print_help(std::ostream& out) {
    out << "Usage: veeam-had [--config FILE] [--node NAME]\n"
           "   or: veeam-had --check-config [FILE] [--node NAME] [--no-file-checks] [--quiet]\n"
           "   or: veeam-had --version | --help\n"
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

struct CommandLine {
    std::string config_path = cli::kDefaultConfig;
    std::string node_override;  // --node; empty: the host name decides
    bool check = false;         // --check-config [FILE]
    std::string check_path;     // FILE, or config_path
    bool file_checks = true;    // --no-file-checks turns them off
    bool quiet = false;
};

// getopt_long over argv. Returns an exit code when the program ends here (--help, --version, a
// bad command line), nothing when it goes on.
std::optional<int> parse_command_line(int argc, char** argv, CommandLine& cmd) {
    enum { kCheckConfig = 256, kNoFileChecks, kQuiet, kVersion };
    static const option options[] = {
        {"config", required_argument, nullptr, 'c'},
        {"node", required_argument, nullptr, 'n'},
        {"check-config", optional_argument, nullptr, kCheckConfig},
        {"no-file-checks", no_argument, nullptr, kNoFileChecks},
        {"quiet", no_argument, nullptr, kQuiet},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, kVersion},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // our own messages below
    std::optional<std::string> check_file;
    for (int opt; (opt = getopt_long(argc, argv, ":c:n:h", options, nullptr)) != -1;) {
        switch (opt) {
            case 'c': cmd.config_path = optarg; break;
            case 'n': cmd.node_override = optarg; break;
            case kCheckConfig:
                cmd.check = true;
                if (optarg) check_file = optarg;
                break;
            case kNoFileChecks: cmd.file_checks = false; break;
            case kQuiet: cmd.quiet = true; break;
            case 'h': print_help(std::cout); return cli::kExitOk;
            case kVersion:
                std::cout << "veeam-had " << VEEAMHA_VERSION << " (protocol " << wire::kProtocolMajor
                          << "." << wire::kProtocolMinor << ")\n";
                return cli::kExitOk;
            case ':':
                std::cerr << "veeam-had: " << argv[optind - 1] << " needs a value\n";
                return cli::kExitUsage;
            default:
                std::cerr << "veeam-had: unexpected argument " << argv[optind - 1] << " (see veeam-had --help)\n";
                return cli::kExitUsage;
        }
    }
    // The one operand there may be: FILE of `--check-config FILE`.
    if (optind < argc && cmd.check && !check_file) check_file = argv[optind++];
    if (optind < argc) {
        std::cerr << "veeam-had: unexpected argument " << argv[optind] << " (see veeam-had --help)\n";
        return cli::kExitUsage;
    }
    if ((!cmd.file_checks || cmd.quiet) && !cmd.check) {
        std::cerr << "veeam-had: " << (!cmd.file_checks ? "--no-file-checks" : "--quiet")
                  << " only goes with --check-config\n";
        return cli::kExitUsage;
    }
    cmd.check_path = check_file.value_or(cmd.config_path);
    return std::nullopt;
}

// The daemon until it exits. A startup problem a restart cannot fix (bad key file, a state file
// of another node) is kExitFailure, so that systemd does not loop (RestartPreventExitStatus);
// anything else is kExitRestart.
int run_daemon(const config::Config& config, int local_node, const CommandLine& cmd, double main_at_ms) {
    std::signal(SIGPIPE, SIG_IGN);  // a peer or vCenter closing a socket is an error code, not death
    try {
        runtime::Runtime rt(config, local_node, runtime::RuntimeOptions{cmd.config_path, cmd.node_override, main_at_ms});
        return rt.run();
    } catch (const net::KeyFileError& e) {
        std::cerr << "veeam-had: " << e.what() << "\n";
        return cli::kExitFailure;
    } catch (const runtime::StartupError& e) {
        std::cerr << "veeam-had: " << e.what() << "\n";
        return cli::kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "veeam-had: " << e.what() << "\n";
        return cli::kExitRestart;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const double main_at_ms = cli::ms_since_process_start();
    CommandLine cmd;
    if (auto done = parse_command_line(argc, argv, cmd)) return *done;
    if (cmd.check)
        return cli::check_config(cmd.check_path, cmd.node_override, cmd.file_checks, cmd.quiet,
                                 std::cout, std::cerr);

    auto config = cli::load_config(cmd.config_path, true, std::cerr);
    if (!config) return cli::kExitFailure;
    auto local = config::resolve_local_node(*config, cmd.node_override);
    if (const auto* why = std::get_if<std::string>(&local)) {
        std::cerr << "veeam-had: " << *why << "\n";
        return cli::kExitFailure;
    }
    return run_daemon(*config, std::get<int>(local), cmd, main_at_ms);
}

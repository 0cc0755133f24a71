// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl import-pcs CIB.xml [--corosync corosync.conf]`: prints the /etc/veeam-ha.yaml
// equivalent to a Pacemaker cluster on stdout (migrate/import_pcs.h), and on stderr what the
// admin must do before it is complete (password files). CIB.xml is what `pcs cluster cib` or
// `cibadmin --query` prints; "-" reads it from stdin.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "daemon/cli/cli.h"
#include "daemon/hactl/verbs.h"
#include "migrate/import_pcs.h"
#include "migrate/input_error.h"

namespace veeamha::hactl {

namespace {

// A CIB with its status section of a busy cluster is a few MiB; anything near this is not one.
constexpr size_t kMaxInputBytes = 64 * 1024 * 1024;

bool read_input(const std::string& path, std::string& text, std::string& error) {
    std::istream* in = &std::cin;
    std::ifstream file;
    if (path != "-") {
        file.open(path, std::ios::binary);
        if (!file) {
            error = path + ": cannot read it (" + std::string(std::strerror(errno)) + ")";
            return false;
        }
        in = &file;
    }
    std::ostringstream buffer;
    buffer << in->rdbuf();
    text = buffer.str();
    if (text.size() > kMaxInputBytes) {
        error = path + ": larger than 64 MiB; expected a CIB or corosync.conf";
        return false;
    }
    return true;
}

}  // namespace

int hactl_import_pcs(const Invocation& invocation) {
    std::vector<std::string> args = invocation.args;
    std::optional<std::string> corosync_path;
    std::string error;
    const std::string usage = "usage: " + invocation.program + " import-pcs CIB.xml|- [--corosync corosync.conf]\n";
    if (!cli::take_option(args, "--corosync", "", corosync_path, error)) {
        std::cerr << invocation.program << ": import-pcs: " << error << "\n" << usage;
        return cli::kExitUsage;
    }
    if (args.size() != 1 || (args[0] != "-" && args[0].rfind("-", 0) == 0)) {
        std::cerr << invocation.program << ": import-pcs: "
                  << (args.empty() ? "expected the CIB file" : "unexpected argument " + args.back()) << "\n" << usage;
        return cli::kExitUsage;
    }
    const std::string cib_path = args[0];
    std::string cib_text, corosync_text;
    if (!read_input(cib_path, cib_text, error) ||
        (corosync_path && !read_input(*corosync_path, corosync_text, error))) {
        std::cerr << invocation.program << ": import-pcs: " << error << "\n";
        return cli::kExitFailure;
    }
    migrate::ImportResult result;
    try {
        migrate::Cib cib = migrate::read_cib(cib_text, cib_path == "-" ? "stdin" : cib_path);
        std::optional<migrate::CorosyncConf> corosync;
        if (corosync_path) corosync = migrate::read_corosync_conf(corosync_text, *corosync_path);
        result = migrate::import_pcs(cib, corosync);
    } catch (const migrate::InputError& e) {
        std::cerr << invocation.program << ": import-pcs: " << e.what() << "\n";
        return cli::kExitFailure;
    }
    std::cout << result.yaml << std::flush;
    std::cerr << invocation.program << ": import-pcs: the configuration is on stdout. Before starting veeam-had:\n";
    for (size_t i = 0; i < result.steps.size(); ++i) std::cerr << "  " << i + 1 << ". " << result.steps[i] << "\n";
    std::cerr << "  " << result.steps.size() + 1
              << ". check it: veeam-hactl check FILE, then copy it to /etc/veeam-ha.yaml on both nodes\n";
    return cli::kExitOk;
}

}  // namespace veeamha::hactl

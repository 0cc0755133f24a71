// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-had --check-config --quiet`: what veeam-had.service's ExecReload= runs before it sends
// SIGHUP, so that `systemctl reload` fails on a broken file. Silent on a valid file (the daemon
// logs its warnings itself at the reload), every error and warning on stderr otherwise. The nspawn test runs
// it under systemd; this checks its output and exit codes directly.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/process.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;

#ifndef VEEAMHA_HAD_PATH
#error "VEEAMHA_HAD_PATH must be defined"
#endif

using veeamha::test::TempDir;

namespace {

void write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

base::ProcessResult run(std::vector<std::string> argv) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.deadline = base::Clock::now() + std::chrono::seconds(30);
    base::ProcessResult r = base::run_process(spec);
    INFO("command: " << base::format_command(spec.argv) << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    REQUIRE(r.ended == base::ProcessResult::Ended::Exited);
    return r;
}

// A configuration of nodes alpha and beta whose only file is its key (mode 0600).
std::string config_text(const TempDir& dir, const std::string& policy) {
    return "cluster: {name: t, key_file: " + dir.path + "/authkey, state_dir: " + dir.path + "/state}\n"
           "nodes:\n"
           "  - {name: alpha, addresses: [10.0.0.1, 10.1.0.1]}\n"
           "  - {name: beta, addresses: [10.0.0.2, 10.1.0.2]}\n"
           "fencing: {levels: [{agent: /bin/true}]}\n"
           "policy: {" + policy + "}\n"
           "resources: [{service: {unit: x}}]\n";
}

}  // namespace

TEST_CASE("check-config quiet (ExecReload): silent on a valid file, errors with file:line on a broken one") {
    TempDir dir{"vhreload"};
    write(dir.path + "/authkey", std::string(32, 'k'), 0600);
    const std::string file = dir.path + "/veeam-ha.yaml";

    write(file, config_text(dir, "ping_targets: [10.0.0.254]"), 0644);
    auto quiet_ok = run({VEEAMHA_HAD_PATH, "--check-config", "--quiet", "--config", file, "--node", "alpha"});
    CHECK(quiet_ok.exit_code == 0);
    CHECK(quiet_ok.out.empty());
    CHECK(quiet_ok.err.empty());
    // Without --quiet the same check prints its summary.
    auto loud_ok = run({VEEAMHA_HAD_PATH, "--check-config", file, "--node", "alpha"});
    CHECK(loud_ok.exit_code == 0);
    CHECK_THAT(loud_ok.out, Catch::Contains("is valid"));

    // A valid file with warnings: silent too (the daemon logs them itself when it reloads).
    write(file, config_text(dir, ""), 0644);
    auto warned = run({VEEAMHA_HAD_PATH, "--check-config", file, "--quiet", "--node", "alpha"});
    CHECK(warned.exit_code == 0);
    CHECK(warned.out.empty());
    CHECK(warned.err.empty());

    // A broken file: every error and warning, with file:line.
    write(file, config_text(dir, "failbak: true"), 0644);
    auto broken = run({VEEAMHA_HAD_PATH, "--check-config", "--quiet", "--config", file, "--node", "alpha"});
    CHECK(broken.exit_code == 1);
    CHECK(broken.out.empty());
    CHECK_THAT(broken.err, Catch::Contains(file + ":6:") && Catch::Contains("policy.failbak: unknown key") &&
                               Catch::Contains("policy.ping_targets"));

    // The key is checked too (the daemon would refuse it at its next start).
    write(file, config_text(dir, "ping_targets: [10.0.0.254]"), 0644);
    REQUIRE(::chmod((dir.path + "/authkey").c_str(), 0644) == 0);
    auto key = run({VEEAMHA_HAD_PATH, "--check-config", "--quiet", "--config", file, "--node", "alpha"});
    CHECK(key.exit_code == 1);
    CHECK_THAT(key.err, Catch::Contains(dir.path + "/authkey"));
}

TEST_CASE("quiet only goes with check-config") {
    auto r = run({VEEAMHA_HAD_PATH, "--quiet"});
    CHECK(r.exit_code == 64);
    CHECK_THAT(r.err, Catch::Contains("--quiet only goes with --check-config"));
}

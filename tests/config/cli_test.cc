// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-had and veeam-hactl as the user runs them: real processes, real files, exit codes.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include "base/process.h"
#include "config/config.h"
#include "daemon/runtime/state_store.h"
#include "test_files.h"

using namespace veeamha;

namespace {

base::ProcessResult run(std::vector<std::string> argv) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.deadline = base::Clock::now() + std::chrono::seconds(30);
    base::ProcessResult r = base::run_process(spec);
    INFO("command: " << base::format_command(spec.argv) << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    REQUIRE(r.ended == base::ProcessResult::Ended::Exited);
    return r;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::string kExample = test::source_path("systemd/veeam-ha.yaml.example");

// A valid configuration in `dir` whose key file is `key` and needs no other file.
std::string write_config(const test::TempDir& dir, const std::string& key) {
    std::string path = dir.file("veeam-ha.yaml");
    test::write_file(path,
                     "cluster: {name: t, key_file: " + key + ", admin_socket: " + dir.file("no-daemon.sock") +
                         ", state_dir: " + dir.file("state") + "}\n"
                     "nodes:\n"
                     "  - {name: alpha, addresses: [10.0.0.1, 10.1.0.1]}\n"
                     "  - {name: beta, addresses: [10.0.0.2, 10.1.0.2]}\n"
                     "fencing: {levels: [{agent: /bin/true}]}\n"
                     "policy: {ping_targets: [10.0.0.254]}\n"
                     "resources: [{service: {unit: x}}]\n",
                     0644);
    return path;
}

}  // namespace

TEST_CASE("veeam-hactl --help lists every verb of the design (docs/design.md section 8) and the exit codes") {
    auto r = run({VEEAM_HACTL_BIN, "--help"});
    CHECK(r.exit_code == 0);
    for (const char* verb : {"status [--json]", "move [NODE]", "standby [NODE]", "unstandby [NODE]",
                             "maintenance on|off", "cleanup [RESOURCE]", "confirm-fenced NODE",
                             "fence list|status|off|on|reboot [NODE]", "history", "keygen [--force]",
                             "check [FILE]", "--config FILE", "--node NAME", "Exit codes:",
                             "2   refused by a safety check", "64  bad command line"}) {
        INFO(verb);
        CHECK(has(r.out, verb));
    }
}

TEST_CASE("verbs that need the daemon say plainly when it is not running, and print nothing else") {
    test::TempDir dir;
    const std::string key = dir.file("authkey");
    const std::string config = write_config(dir, key);
    std::vector<std::vector<std::string>> calls = {
        {"status"}, {"status", "--json"}, {"move"}, {"move", "beta"}, {"standby"}, {"unstandby"},
        {"maintenance", "on"}, {"maintenance", "off"}, {"cleanup"}, {"confirm-fenced", "beta", "--yes"}};
    for (auto& call : calls) {
        call.insert(call.begin(), {VEEAM_HACTL_BIN, "--config", config});
        auto r = run(call);
        INFO(base::format_command(call));
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(has(r.err, "veeam-had is not running on this node"));
    }
}

TEST_CASE("history reads the state file when the daemon is down, and says so on stderr") {
    test::TempDir dir;
    const std::string config = write_config(dir, dir.file("authkey"));
    auto none = run({VEEAM_HACTL_BIN, "--config", config, "--node", "alpha", "history"});
    CHECK(none.exit_code == 0);
    CHECK(none.out == "no history yet\n");
    CHECK(has(none.err, "veeam-had is not running on this node; history as of its last write, from " +
                            dir.file("state") + "/state.pb"));

    // What the daemon wrote before it stopped (the same writer, the same file).
    config::LoadOptions no_file_checks;
    no_file_checks.check_files = false;
    auto loaded = config::load_file(config, no_file_checks);
    REQUIRE(loaded.config);
    runtime::StateStore store(*loaded.config, 0);
    engine::PersistedState state;
    std::string error;
    REQUIRE(store.load(state, error));
    for (int i = 0; i < 25; ++i)
        state.history.push_back({1780000000000 + i * 1000, "fenced", "fence of beta confirmed #" + std::to_string(i)});
    REQUIRE(store.save(state, error));
    auto some = run({VEEAM_HACTL_BIN, "--config", config, "--node", "alpha", "history", "3"});
    CHECK(some.exit_code == 0);
    CHECK(some.out == "2026-05-28T20:27:02.000Z  fenced: fence of beta confirmed #22\n"
                      "2026-05-28T20:27:03.000Z  fenced: fence of beta confirmed #23\n"
                      "2026-05-28T20:27:04.000Z  fenced: fence of beta confirmed #24\n");
    CHECK(has(some.err, "veeam-had is not running on this node"));
    // Another node's state file is refused, as the daemon refuses it.
    auto other = run({VEEAM_HACTL_BIN, "--config", config, "--node", "beta", "history"});
    CHECK(other.exit_code == 1);
    CHECK(has(other.err, "belongs to cluster 't' node 'alpha'"));
}

TEST_CASE("status --check is a monitoring plugin: UNKNOWN (3) with the reason when the daemon is down") {
    test::TempDir dir;
    const std::string config = write_config(dir, dir.file("authkey"));
    auto r = run({VEEAM_HACTL_BIN, "--config", config, "status", "--check"});
    CHECK(r.exit_code == 3);
    CHECK(r.out.rfind("VEEAMHA UNKNOWN - veeam-had is not running on this node", 0) == 0);
    CHECK(r.out.find('\n') == r.out.size() - 1);  // one line
    CHECK(run({VEEAM_HACTL_BIN, "--config", config, "status", "--check", "--json"}).exit_code == 64);
    CHECK(run({VEEAM_HACTL_BIN, "--config", config, "status", "--interval", "1"}).exit_code == 64);
    CHECK(run({VEEAM_HACTL_BIN, "--config", config, "status", "--watch", "--interval", "0"}).exit_code == 64);
}

TEST_CASE("status --watch redraws until interrupted, and says why a round had no status") {
    test::TempDir dir;
    const std::string config = write_config(dir, dir.file("authkey"));
    auto r = run({"timeout", "--preserve-status", "-s", "INT", "1.5", VEEAM_HACTL_BIN, "--config", config, "status",
                  "--watch", "--interval", "0.4"});
    CHECK(r.exit_code == 0);
    size_t frames = 0;
    for (size_t at = r.out.find("Every 0.4s: veeam-hactl status"); at != std::string::npos;
         at = r.out.find("Every 0.4s: veeam-hactl status", at + 1))
        ++frames;
    CHECK(frames >= 3);
    CHECK(frames <= 5);
    CHECK(has(r.out, "veeam-had is not running on this node"));
    CHECK(r.out.find("\033[") == std::string::npos);  // not a terminal: no screen clearing
}

TEST_CASE("confirm-fenced without --yes explains the risk and does nothing") {
    auto r = run({VEEAM_HACTL_BIN, "confirm-fenced", "beta"});
    CHECK(r.exit_code == 64);
    CHECK(has(r.err, "both nodes will mount the"));
}

TEST_CASE("bad command lines exit 64") {
    CHECK(run({VEEAM_HACTL_BIN}).exit_code == 64);
    auto unknown = run({VEEAM_HACTL_BIN, "stauts"});
    CHECK(unknown.exit_code == 64);
    CHECK(has(unknown.err, "unknown verb stauts"));
    CHECK(run({VEEAM_HACTL_BIN, "--config"}).exit_code == 64);
    CHECK(run({VEEAM_HACTL_BIN, "--bogus", "status"}).exit_code == 64);
    CHECK(run({VEEAM_HACTL_BIN, "check", "a.yaml", "b.yaml"}).exit_code == 64);
    CHECK(run({VEEAM_HAD_BIN, "--bogus"}).exit_code == 64);
    CHECK(run({VEEAM_HAD_BIN, "--no-file-checks"}).exit_code == 64);
}

TEST_CASE("check and --check-config: exit 0 and the same summary for a valid file") {
    auto a = run({VEEAM_HACTL_BIN, "check", kExample, "--no-file-checks", "--node", "vbr-repo-1.vmik.lab"});
    auto b = run({VEEAM_HAD_BIN, "--check-config", kExample, "--no-file-checks", "--node", "vbr-repo-1"});
    auto c = run({VEEAM_HACTL_BIN, "--config", kExample, "--node", "vbr-repo-1", "check", "--no-file-checks"});
    auto d = run({VEEAM_HAD_BIN, "--config=" + kExample, "--check-config", "--no-file-checks", "-n", "vbr-repo-1"});
    for (const auto* r : {&a, &b, &c, &d}) {
        CHECK(r->exit_code == 0);
        CHECK(r->err.empty());
        CHECK(has(r->out, kExample + " is valid. Files it names were not checked."));
        CHECK(has(r->out, "Cluster vbr-repo: 2 nodes, 2 links, 6 resources in one group."));
        CHECK(has(r->out, "[this node]"));
    }
    CHECK(a.out == b.out);
    CHECK(a.out == c.out);
    CHECK(a.out == d.out);
}

TEST_CASE("check and --check-config: exit 1 and every error for an invalid file") {
    const std::string bad = test::source_path("tests/config/bad/many-errors.yaml");
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {VEEAM_HACTL_BIN, "check", bad, "--no-file-checks"},
             {VEEAM_HAD_BIN, "--check-config", bad, "--no-file-checks"}}) {
        auto r = run(argv);
        CHECK(r.exit_code == 1);
        CHECK(r.out.empty());
        CHECK(has(r.err, bad + ":3:9: cluster.name: expected a name of letters"));
        CHECK(has(r.err, bad + ":29:14: resources[3].service.unit: required key is missing"));
        CHECK(has(r.err, "warning: " + bad + ":20:3: policy.ping_targets: none given"));
        CHECK(has(r.err, "7 errors, 1 warning in " + bad + "\n"));
    }
}

TEST_CASE("check --quiet and --check-config --quiet: silent on a valid file, every error on a bad one") {
    const std::string bad = test::source_path("tests/config/bad/many-errors.yaml");
    auto ok_hactl = run({VEEAM_HACTL_BIN, "check", kExample, "--quiet", "--no-file-checks", "--node", "vbr-repo-1"});
    auto ok_had = run({VEEAM_HAD_BIN, "--check-config", kExample, "--quiet", "--no-file-checks", "--node", "vbr-repo-1"});
    auto bad_hactl = run({VEEAM_HACTL_BIN, "--config", bad, "check", "--quiet", "--no-file-checks"});
    auto bad_had = run({VEEAM_HAD_BIN, "--check-config", bad, "--quiet", "--no-file-checks"});
    for (const auto* r : {&ok_hactl, &ok_had}) {
        CHECK(r->exit_code == 0);
        CHECK(r->out.empty());
        CHECK(r->err.empty());
    }
    for (const auto* r : {&bad_hactl, &bad_had}) {
        CHECK(r->exit_code == 1);
        CHECK(r->out.empty());
        CHECK(has(r->err, bad + ":3:9: cluster.name: expected a name of letters"));
        CHECK(has(r->err, "7 errors, 1 warning in " + bad + "\n"));
    }
    CHECK(bad_hactl.err == bad_had.err);
}

TEST_CASE("file checks run by default and --node must match") {
    test::TempDir dir;
    const std::string key = dir.file("authkey");
    const std::string config = write_config(dir, key);
    auto missing = run({VEEAM_HACTL_BIN, "check", config, "--node", "alpha"});
    CHECK(missing.exit_code == 1);
    CHECK(has(missing.err, "cluster.key_file: expected the cluster key at " + key));
    test::write_file(key, std::string(32, 'x'), 0600);
    CHECK(run({VEEAM_HACTL_BIN, "check", config, "--node", "alpha"}).exit_code == 0);
    auto wrong = run({VEEAM_HACTL_BIN, "check", config, "--node", "gamma"});
    CHECK(wrong.exit_code == 1);
    CHECK(has(wrong.err, "--node gamma matches no configured node; expected alpha or beta"));
}

TEST_CASE("veeam-had validates, finds its node, and stops at startup errors with a clear message") {
    test::TempDir dir;
    const std::string key = dir.file("authkey");
    const std::string config = write_config(dir, key);
    // A key readable by others: refused before anything starts, exit 1 (systemd does not loop).
    test::write_file(key, std::string(32, 'x'), 0644);
    auto r = run({VEEAM_HAD_BIN, "--config", config, "--node", "beta"});
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, key));
    CHECK(has(r.err, "chmod 600"));
    auto wrong = run({VEEAM_HAD_BIN, "--config", config, "--node", "gamma"});
    CHECK(wrong.exit_code == 1);
    auto invalid = run({VEEAM_HAD_BIN, "--config", test::source_path("tests/config/bad/nodes-one.yaml")});
    CHECK(invalid.exit_code == 1);
    CHECK(has(invalid.err, "nodes: expected exactly two nodes, found 1"));
    auto version = run({VEEAM_HAD_BIN, "--version"});
    CHECK(version.exit_code == 0);
    CHECK(has(version.out, "veeam-had "));
    CHECK(has(version.out, "(protocol 1."));
    auto help = run({VEEAM_HAD_BIN, "--help"});
    CHECK(help.exit_code == 0);
    CHECK(has(help.out, "--check-config [FILE]"));
    CHECK(has(help.out, "Exit codes:"));
}

TEST_CASE("keygen writes a private 32-byte key atomically and refuses to overwrite it") {
    test::TempDir dir;
    const std::string folder = dir.file("etc/veeam-ha");
    const std::string key = folder + "/authkey";
    const std::string config = write_config(dir, key);

    auto first = run({VEEAM_HACTL_BIN, "--config", config, "--node", "alpha", "keygen"});
    CHECK(first.exit_code == 0);
    REQUIRE(std::filesystem::exists(key));
    CHECK(std::filesystem::file_size(key) == 32);
    CHECK(test::file_mode(key) == 0600);
    CHECK(test::file_mode(folder) == 0700);
    CHECK(test::file_mode(dir.file("etc")) == 0700);
    CHECK(has(first.out, "Wrote the cluster key " + key + " (32 random bytes, mode 0600)."));
    CHECK(has(first.out, "scp -p " + key + " root@beta:" + key));
    CHECK(has(first.out, "stat -c '%a %s' " + key + "    # expect: 600 32"));
    const std::string original = test::read_file(key);
    CHECK(original != std::string(32, '\0'));

    auto again = run({VEEAM_HACTL_BIN, "--config", config, "keygen"});
    CHECK(again.exit_code == 1);
    CHECK(has(again.err, key + " already exists"));
    CHECK(test::read_file(key) == original);

    auto forced = run({VEEAM_HACTL_BIN, "--config", config, "--node", "beta", "keygen", "--force"});
    CHECK(forced.exit_code == 0);
    CHECK(has(forced.out, "Replaced the cluster key"));
    CHECK(has(forced.out, "root@alpha:"));
    CHECK(test::read_file(key) != original);
    CHECK(test::file_mode(key) == 0600);
    // Nothing left behind by the atomic write, and the result passes the config's own check.
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(folder)) ++entries;
    CHECK(entries == 1);
    CHECK(run({VEEAM_HACTL_BIN, "check", config, "--node", "alpha"}).exit_code == 0);

    CHECK(run({VEEAM_HACTL_BIN, "--config", config, "keygen", "--forse"}).exit_code == 64);
    auto invalid = run({VEEAM_HACTL_BIN, "--config", test::source_path("tests/config/bad/nodes-one.yaml"), "keygen"});
    CHECK(invalid.exit_code == 1);
    CHECK(has(invalid.err, "nodes: expected exactly two nodes, found 1"));
}

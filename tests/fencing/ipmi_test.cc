// SPDX-License-Identifier: GPL-2.0-or-later
// Fence-agent diagnostics with Debian's real fence_ipmilan (fence-agents, through ipmitool)
// against OpenIPMI's BMC simulator (ipmi_sim) on loopback: what reaches the admin when the
// agent is misconfigured, when the password is wrong, and when a level cannot list.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/cli/cli.h"
#include "daemon/hactl/fence_verbs.h"
#include "fencing/agent/fence_agent.h"
#include "tests/common/skip.h"
#include "tests/fencing/ipmi_sim_fixture.h"

using namespace veeamha;
using namespace veeamha::fencing;
using namespace veeamha::fencing::agent;
using namespace veeamha::test;
using namespace std::chrono_literals;

namespace {

base::Deadline in(std::chrono::milliseconds d) { return base::Clock::now() + d; }

size_t occurrences(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

config::Config cluster_with(const config::FenceLevel& level) {
    config::Config c;
    c.cluster.name = "t";
    for (const char* name : {"alpha", "beta"}) {
        config::Node n;
        n.name = name;
        n.addresses = {std::string("10.0.0.") + (name[0] == 'a' ? "1" : "2")};
        c.nodes.push_back(n);
    }
    c.fencing.timeout = 60s;
    c.fencing.levels = {level};
    return c;
}

}  // namespace

TEST_CASE("fence_ipmilan: a status through the real agent, and its Python warnings never reach the admin") {
    if (auto why = IpmiSim::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    TempDir dir;
    IpmiSim bmc(dir);
    std::string pass = dir.write("ipmi.pass", std::string(kIpmiPassword) + "\n", 0600);
    FenceResult r = FenceAgentFencer(bmc.level(pass)).status("beta", in(30s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.state == PowerState::On);

    // The agent itself prints Python's warning about its own import on every run (with the
    // source line it quotes): never part of what describes the run.
    base::ProcessSpec spec;
    spec.argv = {find_agent("fence_ipmilan")};
    spec.stdin_data = "action=status\nip=127.0.0.1\nipport=" + std::to_string(bmc.port()) + "\nusername=" +
                      kIpmiUser + "\npassword=" + kIpmiPassword + "\nlanplus=1\ncipher=3\n";
    spec.deadline = in(30s);
    base::ProcessResult raw = base::run_process(spec);
    INFO(raw.err);
    CHECK(raw.err.find("DeprecationWarning") != std::string::npos);  // what the agent really prints
    CHECK(describe_agent_run(raw) == "exit 0: Status: ON");
}

TEST_CASE("fence_ipmilan: a misspelt option is an error naming the key (never its value), and check finds it first") {
    if (auto why = IpmiSim::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    TempDir dir;
    IpmiSim bmc(dir);
    std::string pass = dir.write("ipmi.pass", std::string(kIpmiPassword) + "\n", 0600);
    config::FenceLevel typo = bmc.level(pass);
    typo.args[2] = {"usrname", "operator-7"};
    FenceResult r = FenceAgentFencer(typo).status("beta", in(30s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("fence_ipmilan ignored the unknown option usrname (Parse error)") != std::string::npos);
    CHECK(r.detail.find("operator-7") == std::string::npos);

    // The agent's own metadata names what it knows.
    AgentParameters known = agent_parameters("fence_ipmilan", in(30s));
    INFO(known.error);
    REQUIRE(known.ok);
    CHECK(std::find(known.names.begin(), known.names.end(), "username") != known.names.end());
    auto problems = check_level_args(typo, known.names);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "usrname: not an option of fence_ipmilan (its metadata); did you mean username?");
    CHECK(check_level_args(bmc.level(pass), known.names).empty());  // password_file is ours

    // veeam-hactl check: the same, at the key, before any fence needs it.
    std::string key = dir.write("authkey", std::string(32, 'k'), 0600);
    auto yaml_with = [&](const std::string& name, const std::string& level) {
        return dir.write(name,
                         "cluster: {name: t, key_file: " + key + ", admin_socket: " + dir.path() +
                             "/s.sock, state_dir: " + dir.path() + "/state}\n"
                             "nodes:\n"
                             "  - {name: alpha, addresses: [10.0.0.1, 10.1.0.1]}\n"
                             "  - {name: beta, addresses: [10.0.0.2, 10.1.0.2]}\n"
                             "fencing:\n"
                             "  levels:\n"
                             "    - " + level + "\n"
                             "policy: {ping_targets: [10.0.0.254]}\n"
                             "resources: [{service: {unit: x}}]\n",
                         0644);
    };
    std::string typos = yaml_with("typos.yaml", "{agent: fence_ipmilan, args: {ip: 127.0.0.1, usrname: admin, lanpls: 1, "
                                                "password_file: " + pass + "}}");
    std::ostringstream out, err;
    int code = cli::check_config(typos, "alpha", true, false, out, err);
    INFO(err.str());
    CHECK(code == 1);
    CHECK(err.str().find(typos + ": fencing.levels[0].args.usrname: not an option of fence_ipmilan (its metadata); "
                                 "did you mean username?") != std::string::npos);
    CHECK(err.str().find(typos + ": fencing.levels[0].args.lanpls: not an option of fence_ipmilan (its metadata); "
                                 "did you mean lanplus?") != std::string::npos);
    CHECK(err.str().find("2 errors, 0 warnings in " + typos) != std::string::npos);

    std::string right = yaml_with("right.yaml", "{agent: fence_ipmilan, args: {ip: 127.0.0.1, username: admin, "
                                                "lanplus: 1, password_file: " + pass + "}}");
    std::ostringstream out2, err2;
    CHECK(cli::check_config(right, "alpha", true, false, out2, err2) == 0);
    CHECK(err2.str().empty());

    std::string missing = yaml_with("missing.yaml", "{agent: fence_no_such_agent_here, args: {ip: 127.0.0.2}}");
    std::ostringstream out3, err3;
    CHECK(cli::check_config(missing, "alpha", true, false, out3, err3) == 1);
    CHECK(err3.str().find("fencing.levels[0].agent: expected the fence agent fence_no_such_agent_here") !=
          std::string::npos);
}

TEST_CASE("fence_ipmilan: a wrong password comes with a hint and is not retried as an unreachable device") {
    if (auto why = IpmiSim::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    TempDir dir;
    IpmiSim bmc(dir);
    std::string wrong = dir.write("ipmi.pass", "not-the-password\n", 0600);
    FenceResult r = FenceAgentFencer(bmc.level(wrong)).status("beta", in(60s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("Unable to obtain correct plug status") != std::string::npos);
    CHECK(r.detail.find("check username and password_file") != std::string::npos);
    CHECK(r.detail.find("not-the-password") == std::string::npos);
    CHECK(r.detail.find("Deprecation") == std::string::npos);
    CHECK(r.detail.find("from pipes import quote") == std::string::npos);
    CHECK_FALSE(std::regex_search(r.detail, std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:")));  // no log stamps
    CHECK(occurrences(r.detail, "Unable to obtain correct plug status") == 1);  // said on stderr and stdout
    CHECK(r.failure != FailureClass::Transient);
}

TEST_CASE("fence list on an IPMI level says the level cannot list, and lists nothing") {
    if (auto why = IpmiSim::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    TempDir dir;
    IpmiSim bmc(dir);
    std::string pass = dir.write("ipmi.pass", std::string(kIpmiPassword) + "\n", 0600);
    std::ostringstream out, err;
    int code = hactl::fence_command(cluster_with(bmc.level(pass)), 0, {"list"}, out, err);
    INFO(out.str() << err.str());
    CHECK(code == 1);
    CHECK(out.str().find("NOTICE") == std::string::npos);
    CHECK(err.str().find("cannot list: fence_ipmilan controls a single host") != std::string::npos);
}

TEST_CASE("a failed fence from the CLI is said once, not once per log line and once per result") {
    TempDir dir;
    std::string agent = dir.write("fence_refuses",
                                  "#!/bin/sh\ncat >/dev/null\n"
                                  "echo 'ERROR: Failed: the BMC refused the request (test-marker)' >&2\nexit 1\n",
                                  0700);
    config::FenceLevel level;
    level.agent = agent;
    std::ostringstream out, err;
    std::string logged;
    {
        StderrCapture capture(dir);
        int code = hactl::fence_command(cluster_with(level), 0, {"off", "beta", "--yes"}, out, err);
        CHECK(code == 1);
        logged = capture.text();
    }
    INFO("stderr:\n" << logged << "\nerr stream:\n" << err.str());
    CHECK(occurrences(logged + err.str(), "test-marker") == 2);  // the off and the status after it, once each
    CHECK(occurrences(err.str(), "NOT confirmed") == 1);
    CHECK(logged.find("did not confirm") == std::string::npos);
}

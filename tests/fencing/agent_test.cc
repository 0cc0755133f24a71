// SPDX-License-Identifier: GPL-2.0-or-later
// The fence-agent runner with scripted fake agents (small shell scripts written into a temp
// dir) that record what they receive and play honest, lying or hanging agents.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "fencing/agent/fence_agent.h"
#include "tests/common/read_file.h"
#include "tests/fencing/vcsim_fixture.h"

using namespace veeamha;
using namespace veeamha::fencing;
using namespace veeamha::fencing::agent;
using namespace veeamha::test;
using namespace std::chrono_literals;

namespace {

using veeamha::test::slurp;

base::Deadline in(std::chrono::milliseconds d) { return base::Clock::now() + d; }

// An agent that keeps the power state in a file and records, per action, its stdin and its
// command-line arguments.
std::string honest_agent(const TempDir& dir) {
    const std::string d = dir.path();
    return dir.write("fence_honest",
                     "#!/bin/sh\n"
                     "input=$(cat)\n"
                     "action=$(printf '%s\\n' \"$input\" | sed -n 's/^action=//p')\n"
                     "printf '%s\\n' \"$input\" > " + d + "/stdin.$action\n"
                     "printf '%s|' \"$#\" \"$@\" > " + d + "/argv.$action\n"
                     "state=$(cat " + d + "/state 2>/dev/null || echo on)\n"
                     "case $action in\n"
                     "  off) echo off > " + d + "/state; echo 'Success: Powered OFF'; exit 0;;\n"
                     "  on) echo on > " + d + "/state; echo 'Success: Powered ON'; exit 0;;\n"
                     "  status) if [ \"$state\" = off ]; then echo 'Status: OFF'; exit 2; fi\n"
                     "          echo 'Status: ON'; exit 0;;\n"
                     "  list) echo 'host-a,Rack 1 slot 3'; echo 'host-b'; exit 0;;\n"
                     "esac\n"
                     "echo \"unknown action $action\" >&2; exit 1\n",
                     0700);
}

config::FenceLevel level(const std::string& agent, const std::string& password_file,
                         std::vector<std::string> nodes = {}) {
    config::FenceLevel l;
    l.agent = agent;
    l.args = {{"ip", "10.0.0.11"}, {"username", "admin"}, {"lanplus", "1"}};
    if (!password_file.empty()) l.args.emplace_back("password_file", password_file);
    l.nodes = std::move(nodes);
    return l;
}

}  // namespace

TEST_CASE("fence agent: stdin key=value protocol, password from its file and never on argv") {
    TempDir dir;
    std::string pass = dir.write("ipmi.pass", "ipmi-Sécret\n", 0600);
    FenceAgentFencer f(level(honest_agent(dir), pass));
    FenceResult r = f.off("node-b", in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.state == PowerState::Off);
    CHECK(slurp(dir.path() + "/stdin.off") ==
          "action=off\nip=10.0.0.11\nusername=admin\nlanplus=1\npassword=ipmi-Sécret\n");
    CHECK(slurp(dir.path() + "/stdin.status").find("action=status\n") == 0);
    CHECK(slurp(dir.path() + "/argv.off") == "0|");  // no command-line arguments at all
    CHECK(slurp(dir.path() + "/argv.status") == "0|");
    CHECK(r.detail.find("ipmi-Sécret") == std::string::npos);
    CHECK(r.fencer == f.describe());
    CHECK(f.describe().find("10.0.0.11") != std::string::npos);
}

TEST_CASE("fence agent: on, status and list") {
    TempDir dir;
    FenceAgentFencer f(level(honest_agent(dir), ""));
    REQUIRE(f.off("b", in(10s)).confirmed);
    FenceResult st = f.status("b", in(10s));
    CHECK(st.confirmed);
    CHECK(st.state == PowerState::Off);
    FenceResult on = f.on("b", in(10s));
    CHECK(on.confirmed);
    CHECK(on.state == PowerState::On);
    FenceResult reboot = f.reboot("b", in(10s));
    CHECK(reboot.confirmed);
    CHECK(reboot.detail.find("then powered on again") != std::string::npos);
    ListResult l = f.list(in(10s));
    REQUIRE(l.ok);
    REQUIRE(l.vms.size() == 2);
    CHECK(l.vms[0].name == "host-a (Rack 1 slot 3)");
    CHECK(l.vms[1].name == "host-b");
}

TEST_CASE("fence agent: an agent that says off while status says on -> fence failed") {
    TempDir dir;
    std::string liar = dir.write("fence_liar",
                                 "#!/bin/sh\n"
                                 "action=$(sed -n 's/^action=//p')\n"
                                 "case $action in\n"
                                 "  off) echo 'Success: Powered OFF'; exit 0;;\n"
                                 "  status) echo 'Status: ON'; exit 0;;\n"
                                 "esac\nexit 1\n",
                                 0700);
    FenceAgentFencer f(level(liar, ""));
    FenceResult r = f.off("node-b", in(10s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.state == PowerState::On);
    CHECK(r.detail.find("status then reported on: fence not confirmed") != std::string::npos);
}

TEST_CASE("fence agent: a status whose exit code and output disagree is not trusted") {
    TempDir dir;
    std::string odd = dir.write("fence_odd",
                                "#!/bin/sh\n"
                                "action=$(sed -n 's/^action=//p')\n"
                                "[ \"$action\" = status ] && { echo 'Status: OFF'; exit 0; }\n"
                                "exit 0\n",
                                0700);
    FenceResult r = FenceAgentFencer(level(odd, "")).off("node-b", in(10s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.state == PowerState::Unknown);
    CHECK(r.detail.find("contradicts itself") != std::string::npos);
}

TEST_CASE("fence agent: an off that fails but status reads off is confirmed by the status") {
    TempDir dir;
    std::string agent = dir.write("fence_grumpy",
                                  "#!/bin/sh\n"
                                  "action=$(sed -n 's/^action=//p')\n"
                                  "[ \"$action\" = status ] && { echo 'Status: OFF'; exit 2; }\n"
                                  "echo 'Failed: timed out waiting to power OFF' >&2; exit 1\n",
                                  0700);
    FenceResult r = FenceAgentFencer(level(agent, "")).off("node-b", in(10s));
    CHECK(r.confirmed);
    CHECK(r.detail.find("exit 1: Failed: timed out waiting to power OFF") != std::string::npos);
}

TEST_CASE("fence agent: an agent that hangs is killed at the deadline") {
    TempDir dir;
    std::string hang = dir.write("fence_hang", "#!/bin/sh\nexec sleep 60\n", 0700);
    FenceAgentFencer f(level(hang, ""));
    auto start = base::Clock::now();
    FenceResult r = f.off("node-b", in(1500ms));
    auto took = base::Clock::now() - start;
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("timed out") != std::string::npos);
    CHECK(r.failure == FailureClass::Transient);
    CHECK(took < 1500ms + 1500ms);  // deadline + SIGTERM grace + a loaded machine
}

TEST_CASE("fence agent: unreachable devices are transient failures, others are not") {
    TempDir dir;
    // What fence-agents print (on stderr, exit 1) when the BMC does not answer.
    std::string unreachable = dir.write("fence_unreachable",
                                        "#!/bin/sh\ncat >/dev/null\n"
                                        "echo '2024-05-01 10:00:00,000 ERROR: Failed: Unable to connect/login to "
                                        "fencing device' >&2\n"
                                        "exit 1\n",
                                        0700);
    FenceResult off = FenceAgentFencer(level(unreachable, "")).off("node-b", in(5s));
    CHECK_FALSE(off.confirmed);
    CHECK(off.failure == FailureClass::Transient);
    FenceResult st = FenceAgentFencer(level(unreachable, "")).status("node-b", in(5s));
    CHECK(st.failure == FailureClass::Transient);

    std::string privileges = dir.write("fence_privileges",
                                       "#!/bin/sh\ncat >/dev/null\n"
                                       "echo 'ERROR: Failed: The user does not have the correct privileges to do "
                                       "the requested action.' >&2\nexit 1\n",
                                       0700);
    CHECK(FenceAgentFencer(level(privileges, "")).off("node-b", in(5s)).failure == FailureClass::Other);

    // Answers every action, status included, with exit 0: "on".
    std::string stays_on = dir.write("fence_stays_on", "#!/bin/sh\ncat >/dev/null\nexit 0\n", 0700);
    FenceResult lied = FenceAgentFencer(level(stays_on, "")).off("node-b", in(5s));
    CHECK_FALSE(lied.confirmed);
    CHECK(lied.failure == FailureClass::Other);  // it answered: on

    FenceResult ok = FenceAgentFencer(level(honest_agent(dir), "")).off("node-b", in(5s));
    CHECK(ok.confirmed);
    CHECK(ok.failure == FailureClass::None);
}

TEST_CASE("fence agent: refused before running on a bad password file, argument or agent") {
    TempDir dir;
    std::string marker = dir.path() + "/ran";
    std::string agent = dir.write("fence_marker", "#!/bin/sh\ntouch " + marker + "\nexit 0\n", 0700);

    std::string open_pass = dir.write("open.pass", "x\n", 0644);
    FenceResult r = FenceAgentFencer(level(agent, open_pass)).off("b", in(5s));
    CHECK(r.detail.find("accessible by group or others") != std::string::npos);

    config::FenceLevel inject = level(agent, "");
    inject.args.emplace_back("plug", "x\naction=on");
    CHECK(FenceAgentFencer(inject).off("b", in(5s)).detail.find("contains a line break") != std::string::npos);

    config::FenceLevel plain = level(agent, "");
    plain.args.emplace_back("password", "in-the-yaml");
    CHECK(FenceAgentFencer(plain).off("b", in(5s)).detail.find("password_file") != std::string::npos);

    CHECK_FALSE(std::ifstream(marker).good());  // the agent never ran

    FenceResult missing = FenceAgentFencer(level("fence_does_not_exist_here", "")).off("b", in(5s));
    CHECK(missing.detail.find("fence agent fence_does_not_exist_here not found") != std::string::npos);
}

TEST_CASE("fence agent: a level only fences the nodes it lists") {
    TempDir dir;
    FenceAgentFencer f(level(honest_agent(dir), "", {"node-b"}));
    CHECK(f.handles("node-b"));
    CHECK_FALSE(f.handles("node-a"));
    FenceResult r = f.off("node-a", in(5s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("not configured to fence node-a") != std::string::npos);
}

TEST_CASE("fence agent: status parsing follows the fence-agents convention") {
    std::string why;
    base::ProcessResult p;
    p.ended = base::ProcessResult::Ended::Exited;
    p.exit_code = 2;
    CHECK(parse_agent_status(p, &why) == PowerState::Off);
    p.exit_code = 0;
    CHECK(parse_agent_status(p, &why) == PowerState::On);
    p.out = "Status: ON\n";
    CHECK(parse_agent_status(p, &why) == PowerState::On);
    p.exit_code = 1;
    CHECK(parse_agent_status(p, &why) == PowerState::Unknown);
    CHECK(why.find("status failed") != std::string::npos);
    p.exit_code = 2;
    p.out = "status: on";
    CHECK(parse_agent_status(p, &why) == PowerState::Unknown);
    p.ended = base::ProcessResult::Ended::TimedOut;
    CHECK(parse_agent_status(p, &why) == PowerState::Unknown);
}

TEST_CASE("fence agent: a timeout is described by what the agent said, not by Python's warnings about it") {
    TempDir dir;
    // What fence_ipmilan prints on Debian 12 before it does anything, then it hangs.
    std::string hang = dir.write("fence_warns_and_hangs",
                                 "#!/bin/sh\ncat >/dev/null\n"
                                 "echo \"/usr/sbin/fence_x:5: DeprecationWarning: 'pipes' is deprecated and slated for "
                                 "removal in Python 3.13\" >&2\n"
                                 "echo '  from pipes import quote' >&2\n"
                                 "echo '2026-12-02 05:38:20,893 WARNING: Parse error: Ignoring unknown option "
                                 "'\"'\"'usrname=admin'\"'\"'' >&2\n"
                                 "exec sleep 60\n",
                                 0700);
    FenceResult r = FenceAgentFencer(level(hang, "")).status("node-b", in(1500ms));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("timed out: WARNING: Parse error: Ignoring unknown option 'usrname'") != std::string::npos);
    CHECK(r.detail.find("ignored the unknown option usrname") != std::string::npos);
    CHECK(r.detail.find("pipes") == std::string::npos);
    CHECK(r.detail.find("=admin") == std::string::npos);
    CHECK(r.failure == FailureClass::Transient);
}

TEST_CASE("fence agent: the last few meaningful lines are kept, noise and log stamps dropped") {
    auto lines = agent_messages("/usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is deprecated\n"
                                "  from pipes import quote\n\n"
                                "WARNING:root:Parse error: Ignoring unknown option 'passwrd=hunter2'\n"
                                "2026-12-02 05:38:20,893 ERROR: Failed: one\n"
                                "2026-12-02 05:38:21,000 ERROR: Failed: two\n"
                                "2026-12-02 05:38:22,000 ERROR: Failed: two\n"
                                "ERROR: Failed: three\n",
                                3);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "ERROR: Failed: one");
    CHECK(lines[1] == "ERROR: Failed: two");
    CHECK(lines[2] == "ERROR: Failed: three");
    auto all = agent_messages("WARNING:root:Parse error: Ignoring unknown option 'passwrd=hunter2'\n", 3);
    REQUIRE(all.size() == 1);
    CHECK(all[0] == "WARNING: Parse error: Ignoring unknown option 'passwrd'");  // never the value
}

TEST_CASE("fence agent: a refused login is a credentials failure even where the agent says 'Unable to connect/login'") {
    TempDir dir;
    std::string refused = dir.write("fence_refused",
                                    "#!/bin/sh\ncat >/dev/null\n"
                                    "echo 'Error: Unable to establish IPMI v2 / RMCP+ session' >&2\n"
                                    "echo 'Authentication failed' >&2\n"
                                    "echo 'ERROR: Failed: Unable to connect/login to fencing device' >&2\nexit 1\n",
                                    0700);
    FenceResult st = FenceAgentFencer(level(refused, "")).status("node-b", in(5s));
    INFO(st.detail);
    CHECK(st.failure == FailureClass::Credentials);
    CHECK(st.detail.find("the device refused the login: check username and password_file") != std::string::npos);
    FenceResult off = FenceAgentFencer(level(refused, "")).off("node-b", in(5s));
    CHECK(off.failure == FailureClass::Credentials);
}

// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl fence ...` against the vCenter simulator.
#include <catch2/catch.hpp>
#include <sstream>

#include "daemon/hactl/fence_verbs.h"
#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/fencing/vcsim_fixture.h"

using namespace veeamha;
using namespace veeamha::test;
using namespace std::chrono_literals;

namespace {

struct Run {
    int code;
    std::string out, err;
};

Run run_fence(const config::Config& c, int local, std::vector<std::string> args) {
    std::ostringstream out, err;
    int code = veeamha::hactl::fence_command(c, local, args, out, err);
    return {code, out.str(), err.str()};
}

fencing::PowerState state_of(const Vcsim& sim, const std::string& uuid) {
    fencing::VSphereFencer f(sim.vsphere(), {{"n", uuid}});
    return f.status("n", base::Clock::now() + 10s).state;
}

}  // namespace

TEST_CASE("fence list prints a table of VMs with both UUIDs, power state and the node") {
    Vcsim sim;
    config::Config c = sim.cluster_config();
    Run r = run_fence(c, 0, {"list"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    std::istringstream lines(r.out);
    std::string header;
    std::getline(lines, header);
    CHECK(header.find("NAME") == 0);
    CHECK(header.find("BIOS UUID") != std::string::npos);
    CHECK(header.find("INSTANCE UUID") != std::string::npos);
    CHECK(header.find("POWER") != std::string::npos);
    std::string row1, row2, total;
    std::getline(lines, row1);
    std::getline(lines, row2);
    std::getline(lines, total);
    CHECK(row1.find(kNode1) == 0);
    CHECK(row1.find(kUuid1) != std::string::npos);
    CHECK(row1.find(kInstance1) != std::string::npos);
    CHECK(row1.find(" on ") != std::string::npos);
    CHECK(row2.find(kUuid2) != std::string::npos);
    CHECK(total == "2 VMs");
}

TEST_CASE("fence list works before any vm_uuid is configured") {
    Vcsim sim;
    config::Config c = sim.cluster_config();
    for (auto& n : c.nodes) n.vm_uuid.clear();
    Run r = run_fence(c, 0, {"list"});
    CHECK(r.code == 0);
    CHECK(r.out.find(kUuid2) != std::string::npos);
}

TEST_CASE("fence status NODE prints the power state") {
    Vcsim sim;
    Run r = run_fence(sim.cluster_config(), 0, {"status", kNode2});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find(std::string(kNode2) + ": on (vsphere 127.0.0.1") == 0);
}

TEST_CASE("fence off NODE refuses without --yes and refuses the local node") {
    Vcsim sim;
    config::Config c = sim.cluster_config();
    Run no_yes = run_fence(c, 0, {"off", kNode2});
    CHECK(no_yes.code == 2);
    CHECK(no_yes.err.find("add --yes") != std::string::npos);
    Run self = run_fence(c, 0, {"off", kNode1, "--yes"});
    CHECK(self.code == 2);
    CHECK(self.err.find("it is this node") != std::string::npos);
    Run unknown_local = run_fence(c, -1, {"off", kNode2, "--yes"});
    CHECK(unknown_local.code == 2);
    CHECK(state_of(sim, kUuid1) == fencing::PowerState::On);
    CHECK(state_of(sim, kUuid2) == fencing::PowerState::On);
}

TEST_CASE("fence off|on|reboot NODE --yes act on the peer and report the confirmation") {
    Vcsim sim;
    config::Config c = sim.cluster_config();
    Run off = run_fence(c, 0, {"off", kNode2, "--yes"});
    INFO(off.err);
    CHECK(off.code == 0);
    CHECK(off.out.find("fence off of " + std::string(kNode2) + " confirmed by vsphere 127.0.0.1") == 0);
    CHECK(state_of(sim, kUuid2) == fencing::PowerState::Off);
    Run on = run_fence(c, 0, {"on", "--yes", kNode2});
    CHECK(on.code == 0);
    CHECK(state_of(sim, kUuid2) == fencing::PowerState::On);
    Run reboot = run_fence(c, 1, {"reboot", kNode1, "--yes"});
    CHECK(reboot.code == 0);
    CHECK(state_of(sim, kUuid1) == fencing::PowerState::On);
}

TEST_CASE("fence reboot that powers off but not on again fails and says what to do") {
    Vcsim sim;
    config::Config c = sim.cluster_config();
    // A fence agent that powers off, refuses to power on, and reports the truth.
    TempDir dir;
    const std::string state = dir.path() + "/state";
    const std::string agent = dir.write("fence_offonly",
                                        "#!/bin/sh\n"
                                        "a=$(sed -n 's/^action=//p')\n"
                                        "case $a in\n"
                                        "  off) echo off > " + state + "; exit 0 ;;\n"
                                        "  on) echo 'cannot power on' >&2; exit 1 ;;\n"
                                        "  status) if [ -s " + state + " ]; then echo 'Status: OFF'; exit 2; fi;"
                                        " echo 'Status: ON'; exit 0 ;;\n"
                                        "esac\n"
                                        "exit 1\n",
                                        0755);
    c.fencing.vsphere.reset();
    config::FenceLevel level;
    level.agent = agent;
    level.nodes = {kNode2};
    c.fencing.levels = {level};
    Run r = run_fence(c, 0, {"reboot", kNode2, "--yes"});
    INFO(r.out << r.err);
    CHECK(r.code == 1);
    CHECK(r.err.find("powered off, but NOT on again") != std::string::npos);
    CHECK(r.err.find("fence on " + std::string(kNode2) + " --yes") != std::string::npos);
}

TEST_CASE("fence: usage errors and a failed fence have distinct exit codes") {
    Vcsim sim;
    config::Config c = sim.cluster_config();
    CHECK(run_fence(c, 0, {}).code == 2);
    CHECK(run_fence(c, 0, {"explode", kNode2}).code == 2);
    Run unknown = run_fence(c, 0, {"status", "nobody"});
    CHECK(unknown.code == 2);
    CHECK(unknown.err.find(std::string("the configured nodes are: ") + kNode1 + ", " + kNode2) !=
          std::string::npos);
    c.nodes[1].vm_uuid = "4235ffff-0000-1111-2222-333344445555";
    Run failed = run_fence(c, 0, {"off", kNode2, "--yes"});
    CHECK(failed.code == 1);
    CHECK(failed.err.find("NOT confirmed") != std::string::npos);
    CHECK(failed.err.find("veeam-hactl fence list") != std::string::npos);
}

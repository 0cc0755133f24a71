// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/hosts/bmc_phase.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <sstream>

#include "tests/hosts/bmc.h"
#include "tests/hosts/hosts_steps.h"
#include "tests/lab/writer.h"

using namespace veeamha::test::hosts;  // the steps

namespace veeamha::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The node that runs the group, as `veeam-hactl status --check` on `h` says.
std::string group_owner(HostsCluster& c, HostVm& h) {
    VmReply r = expect(c, h, poll_command("veeam-hactl status --check | grep -q '^VEEAMHA OK - group running on '", 120));
    r = expect(c, h, "veeam-hactl status --check");
    const std::string mark = "group running on ";
    size_t at = r.output.find(mark);
    REQUIRE(at != std::string::npos);
    at += mark.size();
    return r.output.substr(at, r.output.find_first_of(",\r\n", at) - at);
}

int count_lines(HostsCluster& c, HostVm& h, const std::string& command_and_grep) {
    VmReply r = c.run(h, command_and_grep + " | wc -l");
    REQUIRE(r.exit_code == 0);
    return std::stoi(r.output);
}

// Both hosts get `config` (and the BMC password file when `bmc_password` is set), check it and
// reload; then `checked(host)`, a shell condition on the host's status, must hold: the
// fencing check the reload runs read the peer through the new fencer.
void switch_config(HostsCluster& c, const std::string& config, bool bmc_password,
                   const std::function<std::string(HostVm&)>& checked) {
    if (bmc_password) put_file_both(c, "/etc/veeam-ha/ipmi.pass", std::string(kBmcPassword) + "\n", "600");
    put_file_both(c, "/etc/veeam-ha.yaml", config, "644");
    expect_both(c, [&](HostVm& h) {
        return "veeam-hactl check --quiet && systemctl reload veeam-had && " +
               poll_command(checked(h), 180);
    });
}

}  // namespace

std::string PhysicalHostTimes::table() const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "physical-host phase (seconds)\n"
                  "  reload to the BMC levels, both fencing checks through the BMCs  %7.1f\n"
                  "  hang to the first unconfirmed fence (broken BMC)                 %7.1f\n"
                  "  hang (or BMC repaired) to the group running on the survivor      %7.1f\n"
                  "  fence on through the BMC to the host passive again               %7.1f\n"
                  "  the configuration found, back on both                            %7.1f\n"
                  "  whole phase                                                      %7.1f\n",
                  reload, unconfirmed, takeover, power_on, restore, total);
    return buf;
}

std::string physical_host_config(const std::string& vsphere_config) {
    std::stringstream in(vsphere_config);
    std::string out;
    bool in_vsphere = false, replaced = false;
    for (std::string line; std::getline(in, line);) {
        if (in_vsphere && line.rfind("    ", 0) == 0) continue;  // the vsphere block's keys and comments
        in_vsphere = false;
        if (line == "  vsphere:") {
            in_vsphere = replaced = true;
            out += "  # Physical hosts: each node's BMC, through Debian's fence_ipmilan (IPMI 2.0).\n"
                   "  # cipher 3 is what ipmitool would pick; ipmi_sim does not answer its discovery.\n"
                   "  levels:\n";
            for (size_t i = 0; i < 2; ++i)
                out += std::string("    - agent: fence_ipmilan\n      args: {ip: ") + Bmcs::kAddresses[i] +
                       ", username: " + kBmcUser +
                       ", password_file: /etc/veeam-ha/ipmi.pass, lanplus: \"1\", cipher: \"3\"}\n"
                       "      nodes: [vbr-repo-" + std::to_string(i + 1) + ".vmik.lab]\n";
            continue;
        }
        if (line.find_first_not_of(' ') != std::string::npos &&
            line.compare(line.find_first_not_of(' '), 8, "vm_uuid:") == 0)
            continue;  // nothing finds a physical host by a VM UUID
        out += line + "\n";
    }
    REQUIRE(replaced);  // the configuration has no `  vsphere:` block: the hosts tier changed
    return out;
}

PhysicalHostTimes physical_host_phase(HostsCluster& c, const PhysicalHostOptions& options) {
    PhysicalHostTimes times;
    const auto t_phase = Clock::now();
    progress("physical hosts: a BMC per host (ipmi_sim), fencing through fence_ipmilan");
    Bmcs bmcs(c);

    const std::string owner = group_owner(c, c.host(0));
    HostVm& active = c.host(owner);
    HostVm& survivor = &active == &c.host(0) ? c.host(1) : c.host(0);
    HostBmc& active_bmc = bmcs.of(active);
    HostBmc& survivor_bmc = bmcs.of(survivor);
    const std::string found_config = expect(c, active, "cat /etc/veeam-ha.yaml").output;

    // ---- 1. the BMC levels, by a live reload on both ----
    auto t = Clock::now();
    switch_config(c, physical_host_config(found_config), true, [&](HostVm& h) {
        const std::string peer_bmc = bmcs.of(&h == &active ? survivor : active).address();
        return "veeam-hactl status | grep -q " + quoted("^Fencing: ok .*: fence_ipmilan " + peer_bmc + ": ");
    });
    times.reload = since(t);
    // Each daemon read its peer's power through the peer's BMC (ipmitool's Get Chassis Status).
    CHECK(active_bmc.count("get power") >= 1);
    CHECK(survivor_bmc.count("get power") >= 1);

    // ---- 2. a client writing, and the active host hangs ----
    lab::WriterOptions wo;
    wo.netns = c.netns();
    wo.address = HostsCluster::kFloatingIp;
    wo.connect_timeout = 1000ms;
    wo.io_timeout = 5000ms;
    wo.file = "bmc.log";
    lab::RepoWriter writer(wo);
    REQUIRE(writer.wait_acked(20, Clock::now() + 120s));
    const std::string recovery = "journalctl -k --no-pager | grep -i 'xfs.*Starting recovery'";
    const int replays_before = count_lines(c, survivor, recovery);
    if (options.unconfirmed_first) active_bmc.ignore_power_off(true);
    progress("physical hosts: " + active.name + " hangs (its qemu stopped)");
    t = Clock::now();
    c.freeze(active);

    // ---- 3. a BMC that does not power off: no takeover ----
    if (options.unconfirmed_first) {
        wait_in(c, survivor, "veeam-hactl status | grep -q 'last fence: off " + active.name + " NOT confirmed'", 300);
        times.unconfirmed = since(t);
        auto refused = expect(c, survivor, "veeam-hactl status; veeam-hactl status --check; dmsetup ls; "
                                           "findmnt -n /veeam/repo || echo not-mounted");
        progress("physical hosts: the survivor with the fence unconfirmed:\n" + refused.output);
        CHECK_THAT(refused.output, Catch::Contains("status then reported on: fence not confirmed") &&
                                       !Catch::Contains("group running on " + survivor.name) &&
                                       !Catch::Contains("vg_repo-") && Catch::Contains("not-mounted"));
        CHECK(active_bmc.count("set power 0 ignored") >= 1);
        CHECK(active.vm->running());  // the hung host still "has power"
        progress("physical hosts: the BMC of " + active.name + " repaired");
        active_bmc.ignore_power_off(false);
        t = Clock::now();
    }

    // ---- 4. fenced through its BMC, taken over ----
    wait_in(c, survivor, "veeam-hactl status --check | grep -q 'group running on " + survivor.name + "'", 300);
    times.takeover = since(t);
    const uint64_t acked_at_takeover = writer.stats().acked;
    REQUIRE(writer.wait_acked(acked_at_takeover + 20, Clock::now() + 120s));
    writer.stop();
    CHECK(active_bmc.count("set power 0") >= 1);
    CHECK(!active.vm->running());  // killed by its BMC: the test did not touch it
    auto status = expect(c, survivor, "veeam-hactl status");
    CHECK_THAT(status.output, Catch::Contains("last fence: off " + active.name + " confirmed") &&
                                  Catch::Contains("fence_ipmilan " + active_bmc.address()) &&
                                  Catch::Contains("status then reported off"));
    auto vgs = expect(c, survivor, "vgs --noheadings -o vg_name,vg_systemid vg_vbr vg_repo");
    CHECK_THAT(vgs.output, Catch::Contains(survivor.name) && !Catch::Contains(active.name));
    CHECK(count_lines(c, survivor, recovery) > replays_before);  // XFS replayed the hung host's log
    expect(c, survivor, "findmnt -n /veeam/repo && findmnt -n /opt/veeam && ip -br addr show eth0 | grep -F " +
                            std::string(HostsCluster::kFloatingIp) + " && systemctl is-active veeamtransport");
    std::string error;
    auto file = lab::fetch_through_service(c.netns(), HostsCluster::kFloatingIp, 6162, wo.file, &error);
    INFO(error);
    REQUIRE(file);
    lab::VerifyResult verified = lab::verify_records(*file, writer.acked());
    INFO(verified.summary());
    CHECK(verified.ok());
    CHECK(verified.acked > 40);
    progress("physical hosts: " + verified.summary() + "; longest gap between acknowledgements " +
             std::to_string(writer.stats().longest_gap.count()) + " ms");

    // ---- 5. powered on through its BMC, boots, joins as passive ----
    c.power_off(active);  // only reaps the qemu its BMC killed
    progress("physical hosts: veeam-hactl fence on " + active.name + " (its BMC)");
    t = Clock::now();
    const std::string on_command = "veeam-hactl fence on " + active.name + " --yes";
    auto on = std::async(std::launch::async, [&] { return c.run(survivor, on_command, 180s); });
    const bool asked = active_bmc.take_power_on(150s);
    if (asked) c.power_on(active);  // the BMC's power-on: the test owns the qemu processes
    VmReply on_reply = on.get();
    INFO(survivor.name << "$ " << on_command << "\n" << on_reply.output);
    REQUIRE(asked);
    REQUIRE(on_reply.exit_code == 0);
    c.wait_booted(active, 300s);
    auto boot_dm = expect(c, active, "dmsetup ls");
    CHECK_THAT(boot_dm.output, !Catch::Contains("vg_"));
    expect_both(c, [&](HostVm&) {
        return poll_command("veeam-hactl status --check | grep -q 'OK - group running on " + survivor.name + "'", 180);
    });
    auto rejoined = expect(c, active, "veeam-hactl status && dmsetup ls && { findmnt -n /veeam/repo || echo not-mounted; }");
    CHECK_THAT(rejoined.output, Catch::Contains("(this node): up, passive") && !Catch::Contains("vg_repo-") &&
                                    Catch::Contains("not-mounted"));
    times.power_on = since(t);

    // ---- 6. the configuration found, back on both ----
    t = Clock::now();
    switch_config(c, found_config, false, [](HostVm&) {
        return std::string("veeam-hactl status | grep '^Fencing: ok' | grep -q -v fence_ipmilan");
    });
    expect_both(c, [](HostVm&) { return std::string("rm -f /etc/veeam-ha/ipmi.pass"); });
    times.restore = since(t);
    times.total = since(t_phase);
    progress(times.table());
    return times;
}

}  // namespace veeamha::test

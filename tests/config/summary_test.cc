// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.h"
#include "test_files.h"

using namespace veeamha;

namespace {

config::Config example() {
    config::LoadOptions options;
    options.check_files = false;
    auto r = config::load_file(test::source_path("systemd/veeam-ha.yaml.example"), options);
    REQUIRE(r.config);
    return *r.config;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the summary says what the cluster will do") {
    auto c = example();
    std::string s = config::summarize(c, 1);
    INFO(s);
    CHECK(has(s, "Cluster vbr-repo: 2 nodes, 2 links, 6 resources in one group."));
    CHECK(has(s, "vbr-repo-1.vmik.lab  priority 100  VM 42356049-6020-2ea0-0bd9-11362ef785e7  [preferred]\n"));
    CHECK(has(s, "vbr-repo-2.vmik.lab  priority 100  VM 423576b3-f216-b7e7-aba6-9419bcb72a24  [this node]\n"));
    CHECK(has(s, "vbr-repo-1.vmik.lab is preferred (equal priorities: listed first): it wins a cold start;"));
    CHECK(has(s, "in a fence race vbr-repo-2.vmik.lab waits 5s first."));
    CHECK(has(s, "link 0: 192.168.22.201 <-> 192.168.22.202"));
    CHECK(has(s, "link 1: 10.10.10.1 <-> 10.10.10.2"));
    CHECK(has(s, "The peer is lost after 1s of silence on all links:\n  link 0"));
    CHECK(has(s, "Fencing: power off, all levels within 1m.\n  A takeover needs the power-off read back, in this order:\n"));
    CHECK(has(s, "1. vSphere vcsa67.vmik.lab:443 as admin@vmik.lab, VM by BIOS UUID, 10s per call,\n"
                 "     certificate checked against /etc/veeam-ha/vcenter-ca.pem\n"));
    CHECK(has(s, "A node fences only if 192.168.22.1 answers a ping within 500ms"));
    // The group in start order.
    std::vector<std::string> order = {
        "1. vg_vbr              lvm         activate volume group vg_vbr exclusively (system ID)",
        "2. vg_repo ", "3. fs_vbr              filesystem  mount /dev/vg_vbr/lv_vbr on /opt/veeam (xfs)",
        "4. fs_repo ", "5. ip_vbr              ip          add 192.168.22.208/24 on ens192, 5 gratuitous ARPs 200ms apart",
        "6. svc_veeamtransport  service     start veeamtransport.service"};
    size_t at = 0;
    for (const auto& line : order) {
        size_t found = s.find(line, at);
        INFO(line);
        REQUIRE(found != std::string::npos);
        at = found;
    }
    CHECK(has(s, "the group stays where it is (no failback)"));
    CHECK(has(s, "at 3 failures in 10m\n  the group moves to the peer"));
    CHECK(has(s, "fences it before starting the group alone"));
    CHECK(has(s, "HTTP status and metrics on 127.0.0.1:9668"));
    // Fits a terminal.
    size_t start = 0;
    while (start < s.size()) {
        size_t end = s.find('\n', start);
        INFO(s.substr(start, end - start));
        CHECK(end - start <= 100);
        start = end + 1;
    }
    // One screen.
    CHECK(std::count(s.begin(), s.end(), '\n') <= 40);
}

TEST_CASE("the summary shows risky settings and per-resource timeouts plainly") {
    auto c = example();
    c.policy.ping_targets.clear();
    c.policy.failback = true;
    c.policy.startup_fencing = false;
    c.fencing.vsphere->ca_file.clear();
    c.fencing.vsphere->insecure = true;
    c.fencing.action = config::FenceAction::Reboot;
    c.nodes[1].priority = 150;
    c.resources[3].stop_timeout = std::chrono::minutes(5);
    std::string s = config::summarize(c, -1);
    INFO(s);
    CHECK(has(s, "No ping_targets"));
    CHECK(has(s, "moves back to the preferred node"));
    CHECK(has(s, "WITHOUT fencing it"));
    CHECK(has(s, "certificate NOT checked (insecure)"));
    CHECK(has(s, "power cycle (off, confirmed, then on)"));
    CHECK(has(s, "vbr-repo-2.vmik.lab  priority 150  VM 423576b3-f216-b7e7-aba6-9419bcb72a24  [preferred]"));
    CHECK(has(s, "in a fence race vbr-repo-1.vmik.lab waits 5s first."));
    CHECK_FALSE(has(s, "[this node]"));
    CHECK(has(s, "mount /dev/vg_repo/lv_repo on /veeam/repo (xfs) [stop 5m]"));
}

// SPDX-License-Identifier: GPL-2.0-or-later
// compare_hosts: nothing differs on identical hosts; each planted difference is reported as
// exactly one `different` item with the command that fixes it, on the right node.
#include <catch2/catch.hpp>

#include <functional>

#include "daemon/runtime/peer_compare.h"

using namespace veeamha;

namespace {

wire::HostFacts host(const std::string& name) {
    wire::HostFacts f;
    f.set_node(name);
    f.set_version("1.4.0");
    f.set_protocol_major(1);
    f.set_config_digest(42);
    f.add_config_lines("cluster.name=\"c\"");
    f.add_config_lines("policy.failback=false");
    f.set_config_path("/etc/veeam-ha.yaml");
    auto* s = f.add_sync_files();
    s->set_path("/etc/app.conf");
    s->set_sha256(std::string(32, '\x11'));
    auto* k = f.add_ssh_host_keys();
    k->set_type("ed25519");
    k->set_fingerprint("SHA256:abc");
    auto* u = f.add_users();
    u->set_name("veeam-usr-1");
    u->set_exists(true);
    u->set_id(990);
    u->set_gid(990);
    auto* g = f.add_groups();
    g->set_name("veeam");
    g->set_exists(true);
    g->set_id(990);
    f.set_systemd(true);
    auto* unit = f.add_units();
    unit->set_unit("veeamtransport.service");
    unit->set_exists(true);
    unit->set_sha256(std::string(32, '\x22'));
    unit->set_files("/etc/systemd/system/veeamtransport.service");
    unit->set_enabled("disabled");
    f.set_dpkg(true);
    auto* p = f.add_packages();
    p->set_name("veeamtransport");
    p->set_version("12.1.0.2131");
    f.set_lvm_system_id_source("uname");
    f.set_time_synchronised(true);
    auto* x = f.add_xfs();
    x->set_mountpoint("/veeam/repo");
    return f;
}

std::vector<wire::PeerCheckItem> different(const std::vector<wire::PeerCheckItem>& items) {
    std::vector<wire::PeerCheckItem> out;
    for (const auto& i : items)
        if (i.state() == "different") out.push_back(i);
    return out;
}

}  // namespace

TEST_CASE("peer compare: identical hosts have nothing different, every item is reported") {
    wire::HostFacts a = host("n1"), b = host("n2");
    b.mutable_xfs(0)->set_mounted(true);  // the repository is mounted on one node
    b.mutable_xfs(0)->set_reflink(true);
    b.mutable_xfs(0)->set_crc(true);
    auto items = runtime::compare_hosts(a, b, 0.4);
    CHECK(different(items).empty());
    std::set<std::string> kinds;
    for (const auto& i : items) {
        INFO(runtime::format_item(i));
        CHECK(i.state() == "ok");
        kinds.insert(i.kind());
    }
    for (const char* k : runtime::kPeerCheckKinds) {
        INFO("kind " << k);
        CHECK(kinds.count(k) == 1);
    }
    wire::PeerCheck check;
    for (auto& i : items) *check.add_items() = i;
    CHECK(runtime::peer_check_exit_code(check) == 0);
    CHECK(runtime::format_item(items[0]) == "version: ok (veeam-had 1.4.0 (protocol 1.0))");
}

TEST_CASE("peer compare: each planted difference is one line with its fix") {
    struct Plant {
        const char* what;
        std::function<void(wire::HostFacts&)> change;  // applied to n2 (n1 runs the group)
        const char* item;
        const char* fix;
    };
    const std::vector<Plant> plants = {
        {"version", [](auto& f) { f.set_version("1.3.0"); }, "version", "apt-get install veeam-had=1.4.0 on n2"},
        {"protocol", [](auto& f) { f.set_protocol_minor(1); }, "version", "apt-get install veeam-had=1.4.0 on n2"},
        {"config field",
         [](auto& f) {
             f.set_config_digest(43);
             f.set_config_lines(1, "policy.failback=true");
         },
         "config", "scp -p /etc/veeam-ha.yaml n2:/etc/veeam-ha.yaml on n1, then systemctl reload veeam-had on n2"},
        {"sync file", [](auto& f) { f.mutable_sync_files(0)->set_sha256(std::string(32, '\x12')); }, "sync /etc/app.conf",
         "scp -p /etc/app.conf n2:/etc/app.conf on n1"},
        {"sync file missing", [](auto& f) { f.mutable_sync_files(0)->clear_sha256(); f.mutable_sync_files(0)->set_error("missing"); },
         "sync /etc/app.conf", "scp -p /etc/app.conf n2:/etc/app.conf on n1"},
        {"host key", [](auto& f) { f.mutable_ssh_host_keys(0)->set_fingerprint("SHA256:xyz"); }, "ssh-host-key ed25519",
         "scp -p /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub n2:/etc/ssh/ on n1, then systemctl reload ssh on n2"},
        {"uid", [](auto& f) { f.mutable_users(0)->set_id(991); }, "user veeam-usr-1", "usermod -u 990 veeam-usr-1 on n2"},
        {"user's gid", [](auto& f) { f.mutable_users(0)->set_gid(5); }, "user veeam-usr-1", "usermod -g 990 veeam-usr-1 on n2"},
        {"user missing", [](auto& f) { f.clear_users(); }, "user veeam-usr-1", "useradd -u 990 -g 990 veeam-usr-1 on n2"},
        {"gid", [](auto& f) { f.mutable_groups(0)->set_id(7); }, "group veeam", "groupmod -g 990 veeam on n2"},
        {"unit enabled at boot", [](auto& f) { f.mutable_units(0)->set_enabled("enabled"); },
         "unit veeamtransport.service at boot", "systemctl disable veeamtransport.service on n2"},
        {"unit masked", [](auto& f) { f.mutable_units(0)->set_enabled("masked"); },
         "unit veeamtransport.service at boot", "systemctl unmask veeamtransport.service on n2"},
        {"unit content", [](auto& f) { f.mutable_units(0)->set_sha256(std::string(32, '\x23')); }, "unit veeamtransport.service",
         "scp -p /etc/systemd/system/veeamtransport.service n2:/etc/systemd/system/veeamtransport.service on n1, then "
         "systemctl daemon-reload on n2"},
        {"unit missing", [](auto& f) { f.mutable_units(0)->set_exists(false); f.mutable_units(0)->clear_files(); },
         "unit veeamtransport.service",
         "scp -p /etc/systemd/system/veeamtransport.service n2:/etc/systemd/system/veeamtransport.service on n1, then "
         "systemctl daemon-reload on n2"},
        {"package version", [](auto& f) { f.mutable_packages(0)->set_version("12.0.0.1420"); }, "package veeamtransport",
         "apt-get install veeamtransport=12.1.0.2131 on n2"},
        {"package missing", [](auto& f) { f.clear_packages(); }, "package veeamtransport",
         "apt-get install veeamtransport=12.1.0.2131 on n2"},
        {"lvm", [](auto& f) { f.set_lvm_system_id_source("none"); }, "lvm system_id_source",
         "set system_id_source = \"uname\" in the global section of /etc/lvm/lvm.conf on n2"},
        {"time", [](auto& f) { f.set_time_synchronised(false); }, "time-sync",
         "timedatectl set-ntp true on n2 (or start chrony there)"},
        {"xfs", [](auto& f) { f.mutable_xfs(0)->set_mounted(true); f.mutable_xfs(0)->set_crc(true); }, "xfs /veeam/repo",
         "mkfs.xfs -m crc=1,reflink=1 on a new volume, copy the repository over, and mount it at /veeam/repo"},
    };
    for (const auto& plant : plants) {
        INFO("planted: " << plant.what);
        wire::HostFacts a = host("n1"), b = host("n2");
        a.set_holding(true);
        plant.change(b);
        auto diff = different(runtime::compare_hosts(a, b, 0.0));
        REQUIRE(diff.size() == 1);
        INFO(runtime::format_item(diff[0]));
        CHECK(diff[0].item() == plant.item);
        CHECK(diff[0].fix() == plant.fix);
        // The same from the passive node's side: the fixes still copy from the active one.
        auto from_passive = different(runtime::compare_hosts(b, a, 0.0));
        REQUIRE(from_passive.size() == 1);
        CHECK(from_passive[0].fix() == plant.fix);
    }
}

TEST_CASE("peer compare: the config line names the setting and both values") {
    wire::HostFacts a = host("n1"), b = host("n2");
    b.set_config_digest(43);
    b.set_config_lines(1, "policy.failback=true");
    auto diff = different(runtime::compare_hosts(a, b, std::nullopt));
    REQUIRE(diff.size() == 1);
    CHECK(runtime::format_item(diff[0]) ==
          "config: different: policy.failback: false on n1, true on n2; fix: scp -p /etc/veeam-ha.yaml "
          "n2:/etc/veeam-ha.yaml on n1, then systemctl reload veeam-had on n2");
}

TEST_CASE("peer compare: clocks further apart than a second differ, and no systemd is unknown, not ok") {
    wire::HostFacts a = host("n1"), b = host("n2");
    auto diff = different(runtime::compare_hosts(a, b, 1500.0));
    REQUIRE(diff.size() == 1);
    CHECK(diff[0].item() == "clock-offset");
    CHECK(diff[0].detail() == "n2 is 1500.0 ms ahead of n1");

    b.set_systemd(false);
    b.clear_units();
    auto items = runtime::compare_hosts(a, b, 0.0);
    CHECK(different(items).empty());
    bool unknown = false;
    for (const auto& i : items)
        if (i.item() == "unit veeamtransport.service") {
            CHECK(i.state() == "unknown");
            CHECK(i.detail() == "no systemd on n2");
            unknown = true;
        }
    CHECK(unknown);
    wire::PeerCheck check;
    for (auto& i : items) *check.add_items() = i;
    CHECK(runtime::peer_check_exit_code(check) == 0);
    check.set_error("n2 is not reachable over the peer channel");
    CHECK(runtime::peer_check_exit_code(check) == 3);
}

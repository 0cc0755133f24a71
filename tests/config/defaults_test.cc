// SPDX-License-Identifier: GPL-2.0-or-later
// The defaults of docs/design.md §9 and the values the loader normalises.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "test_files.h"

using namespace veeamha;
using namespace std::chrono_literals;

namespace {

config::Config load_good(const std::string& name) {
    config::LoadOptions options;
    options.check_files = false;
    auto r = config::load_file(test::source_path("tests/config/good/" + name), options);
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.config);
    return *r.config;
}

}  // namespace

TEST_CASE("a minimal file gets every default of the configuration reference") {
    auto c = load_good("minimal.yaml");
    CHECK(c.source_file.find("minimal.yaml") != std::string::npos);
    CHECK(c.cluster.key_file == "/etc/veeam-ha/authkey");
    CHECK(c.cluster.state_dir == "/var/lib/veeam-ha");
    CHECK(c.cluster.admin_socket == "/run/veeam-ha/admin.sock");
    CHECK_FALSE(c.cluster.http_listen);
    CHECK(c.nodes[0].priority == 100);
    CHECK(c.nodes[1].priority == 100);
    CHECK(c.heartbeat.port == 5409);
    CHECK(c.heartbeat.interval == 200ms);
    CHECK(c.heartbeat.timeout == 1s);
    CHECK(c.fencing.action == config::FenceAction::Off);
    CHECK(c.fencing.timeout == 60s);
    CHECK(c.fencing.delay == 5s);
    REQUIRE(c.fencing.vsphere);
    CHECK(c.fencing.vsphere->port == 443);
    CHECK(c.fencing.vsphere->uuid_kind == config::UuidKind::Bios);
    CHECK(c.fencing.vsphere->call_timeout == 10s);
    CHECK_FALSE(c.fencing.vsphere->insecure);
    CHECK(c.fencing.levels.empty());
    CHECK_FALSE(c.policy.failback);
    CHECK(c.policy.migration_threshold == 3);
    CHECK(c.policy.failure_timeout == 10min);
    CHECK(c.policy.startup_fencing);
    CHECK(c.policy.ping_timeout == 500ms);
    REQUIRE(c.resources.size() == 4);
    for (const auto& r : c.resources) {
        CHECK(r.start_timeout == 60s);
        CHECK(r.stop_timeout == 60s);
        CHECK(r.monitor_interval == 10s);
        CHECK(r.monitor_timeout == 20s);
    }
    // Names default to kind + index.
    CHECK(c.resources[0].name == "lvm0");
    CHECK(c.resources[1].name == "filesystem1");
    CHECK(c.resources[2].name == "ip2");
    CHECK(c.resources[3].name == "service3");
    const auto& lvm = std::get<config::LvmSpec>(c.resources[0].spec);
    CHECK(lvm.mode == config::LvmSpec::Mode::SystemId);
    CHECK_FALSE(lvm.partial_allow);
    const auto& fs = std::get<config::FilesystemSpec>(c.resources[1].spec);
    CHECK(fs.fstype == "xfs");
    CHECK(fs.options.empty());
    CHECK_FALSE(fs.deep_check);
    CHECK(fs.on_busy == config::FilesystemSpec::OnBusy::Kill);
    const auto& ip = std::get<config::IpSpec>(c.resources[2].spec);
    CHECK(ip.garp_count == 5);
    CHECK(ip.garp_interval == 200ms);
    CHECK(ip.garp_repeat_after == 5s);
    CHECK(ip.dad_window == 50ms);
    CHECK(ip.label.empty());
    CHECK(c.alerts.empty());
    CHECK(c.sync.empty());
    CHECK(c.links() == 2);
}

TEST_CASE("values are normalised") {
    auto c = load_good("minimal.yaml");
    CHECK(c.nodes[1].vm_uuid == "66666666-7777-8888-9999-aaaaaaaaaaaa");
    CHECK(c.fencing.vsphere->thumbprint ==
          "SHA256:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
          "45:67:89:AB:CD:EF");
    CHECK(std::get<config::FilesystemSpec>(c.resources[1].spec).mountpoint == "/data");
    CHECK(std::get<config::ServiceSpec>(c.resources[3].spec).unit == "app.service");
    auto v6 = load_good("ipv6.yaml");
    CHECK(v6.nodes[0].addresses[0] == "fd00:1::1");
    CHECK(std::get<config::IpSpec>(v6.resources[0].spec).address.text() == "fd00:1::100/64");
}

TEST_CASE("every key of a fully written file arrives in the structs") {
    auto c = load_good("levels-only.yaml");
    REQUIRE(c.cluster.http_listen);
    CHECK(c.cluster.http_listen->host == "::1");
    CHECK(c.cluster.http_listen->port == 9668);
    CHECK(c.nodes[0].priority == 200);
    CHECK(c.nodes[0].vm_uuid.empty());
    CHECK(c.preferred_node() == 0);
    CHECK(c.fencing.action == config::FenceAction::Reboot);
    CHECK(c.fencing.timeout == 2min);
    CHECK(c.fencing.delay == 10s);
    CHECK_FALSE(c.fencing.vsphere);
    REQUIRE(c.fencing.levels.size() == 2);
    CHECK(c.fencing.levels[0].agent == "fence_ipmilan");
    using Args = std::vector<std::pair<std::string, std::string>>;
    CHECK(c.fencing.levels[0].args == Args{{"ip", "10.40.0.1"},
                                           {"username", "admin"},
                                           {"password_file", "/etc/veeam-ha/ipmi-a.pass"},
                                           {"lanplus", "1"}});
    CHECK(c.fencing.levels[0].nodes == std::vector<std::string>{"repo-a"});
    CHECK(c.fencing.levels[0].where.line == 16);
    CHECK(c.fencing.levels[1].agent == "/usr/local/sbin/fence_custom");
    CHECK(c.fencing.levels[1].args == Args{{"host", "bmc-b"}, {"verbose", "true"}});
    CHECK(c.policy.ping_targets == std::vector<std::string>{"10.20.0.254", "10.30.0.254"});
    CHECK(c.policy.ping_timeout == 250ms);
    const auto& lvm = std::get<config::LvmSpec>(c.resources[0].spec);
    CHECK(lvm.mode == config::LvmSpec::Mode::Tag);
    CHECK(lvm.partial_allow);
    const auto& fs = std::get<config::FilesystemSpec>(c.resources[1].spec);
    CHECK(fs.options == "noatime,logbufs=8");
    CHECK(fs.deep_check);
    CHECK(fs.on_busy == config::FilesystemSpec::OnBusy::KillThenLazy);
    CHECK(c.resources[1].start_timeout == 5min);
    CHECK(c.resources[1].stop_timeout == 150s);
    CHECK(c.resources[1].where.line == 28);

    auto t = load_good("exec-alerts-sync.yaml");
    const auto& exec = std::get<config::ExecSpec>(t.resources[0].spec);
    CHECK(exec.start ==
          std::vector<std::string>{"/usr/local/bin/tool", "--config", "/etc/tool conf.yaml", "start"});
    CHECK(exec.monitor == std::vector<std::string>{"/usr/local/bin/tool", "status"});
    CHECK(t.resources[0].monitor_interval == 5s);
    CHECK(t.resources[0].monitor_timeout == 5s);  // through a YAML alias
    const auto& ip = std::get<config::IpSpec>(t.resources[1].spec);
    CHECK(ip.label == "eth0:ha");
    CHECK(ip.garp_count == 3);
    CHECK(ip.garp_interval == 1500ms);
    CHECK(t.policy.migration_threshold == 0);
    CHECK(t.alerts.size() == 2);
    CHECK(t.alerts[1].exec == "/usr/local/lib/veeam-ha/alert-mail");
    CHECK(t.sync.paths == std::vector<std::string>{"/etc/tool conf.yaml", "/etc/systemd/system/tool.service"});
    CHECK(t.cluster.key_file == "/etc/veeam-ha/key");
    CHECK(t.cluster.state_dir == "/var/lib/veeam-ha-tools");

    auto v6 = load_good("ipv6.yaml");
    CHECK(v6.heartbeat.port == 6000);
    CHECK(v6.heartbeat.interval == 100ms);
    CHECK(v6.heartbeat.timeout == 300ms);
    CHECK(v6.fencing.vsphere->port == 8443);
    CHECK(v6.fencing.vsphere->uuid_kind == config::UuidKind::Instance);
    CHECK(v6.fencing.vsphere->call_timeout == 5s);
    const auto& addr = std::get<config::IpSpec>(v6.resources[0].spec);
    CHECK(addr.garp_count == 0);
    CHECK(addr.garp_repeat_after == 0ms);
    CHECK(addr.dad_window == 150ms);
}

TEST_CASE("the preferred node: higher priority, else the first listed") {
    config::Config c;
    c.nodes.resize(2);
    CHECK(c.preferred_node() == 0);
    c.nodes[1].priority = 101;
    CHECK(c.preferred_node() == 1);
    c.nodes[0].priority = 200;
    CHECK(c.preferred_node() == 0);
    CHECK(c.node_index("") == 0);
    CHECK(c.node_index("nope") == -1);
}

TEST_CASE("a bind resource: paths normalised, the non-empty target refused unless allowed") {
    auto c = load_good("bind.yaml");
    REQUIRE(c.resources.size() == 6);
    const auto& etc = c.resources[3];
    CHECK(etc.name == "etc_veeam");
    CHECK(etc.kind == config::ResourceKind::Bind);
    const auto& spec = std::get<config::BindSpec>(etc.spec);
    CHECK(spec.source == "/veeam/repo/.ha/etc-veeam");  // the trailing / dropped
    CHECK(spec.target == "/etc/veeam");
    CHECK(spec.allow_nonempty_target);
    const auto& opt = c.resources[4];
    CHECK(opt.name == "bind4");  // kind + index, as for every kind
    CHECK_FALSE(std::get<config::BindSpec>(opt.spec).allow_nonempty_target);  // the default
    CHECK(opt.stop_timeout == 60s);
}

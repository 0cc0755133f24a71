// SPDX-License-Identifier: GPL-2.0-or-later
// config::canonical_lines and config::digest: every key of the schema changes them (a key
// added to the schema without a mutation here fails the test), and how the file is written
// (comments, spacing, key order, 1m or 60s) does not.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>

#include "config/config.h"
#include "config/schema.h"

using namespace veeamha;

namespace {

const char* kFull = R"(# every key given
cluster:
  name: full
  key_file: /etc/veeam-ha/authkey
  state_dir: /var/lib/veeam-ha
  admin_socket: /run/veeam-ha/admin.sock
  http_listen: 127.0.0.1:9668
nodes:
  - name: a.example
    addresses: [192.0.2.1, 198.51.100.1]
    vm_uuid: 11111111-2222-3333-4444-555555555555
    priority: 100
  - name: b.example
    addresses: [192.0.2.2, 198.51.100.2]
    vm_uuid: 66666666-7777-8888-9999-aaaaaaaaaaaa
    priority: 50
heartbeat:
  port: 5409
  interval: 200ms
  timeout: 1s
fencing:
  action: off
  timeout: 60s
  delay: 5s
  vsphere:
    host: 192.0.2.10
    port: 443
    username: fence
    password_file: /etc/veeam-ha/vcenter.pass
    thumbprint: 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef
    uuid_kind: bios
    call_timeout: 10s
  levels:
    - agent: /usr/sbin/fence_ipmilan
      args: {ip: 192.0.2.20, username: admin, password_file: /etc/veeam-ha/ipmi.pass}
      nodes: [a.example]
policy:
  failback: false
  migration_threshold: 3
  failure_timeout: 10m
  startup_fencing: true
  ping_targets: [192.0.2.254]
  ping_timeout: 500ms
resources:
  - name: vg
    lvm: {vg: vg0, mode: system_id, partial: refuse}
    start_timeout: 60s
    stop_timeout: 60s
    monitor_interval: 10s
    monitor_timeout: 20s
  - name: fs
    filesystem: {device: /dev/mapper/vg0-data, mountpoint: /data, fstype: xfs, options: noatime, deep_check: false, force_unmount: kill}
  - name: state
    bind: {source: /data/sub/etc-app, target: /etc/app, allow_nonempty_target: false}
  - name: vip
    ip: {address: 192.0.2.100/24, interface: eth0, label: "eth0:ha", garp_count: 5, garp_interval: 200ms, garp_repeat_after: 5s, dad_window: 50ms}
  - name: svc
    service: {unit: app}
  - name: prog
    exec: {start: [/bin/true, start], stop: [/bin/true, stop], monitor: [/bin/true, monitor]}
alerts:
  - exec: /usr/local/bin/alert
    recipient: /var/log/alerts
    events: [fenced]
    timeout: 30s
sync:
  paths: [/etc/app.conf]
  ssh_host_keys: false
  ssh_reload: [/usr/bin/systemctl, reload, ssh]
  max_file_size: 64MiB
  max_files: 1000
  max_total_size: 256MiB
peer_check:
  users: [veeam-usr-1]
  groups: [veeam]
)";

// For each key of the schema (section.key, "[]" for list items): one edit of kFull that
// changes that key's value and nothing else.
struct Mutation {
    const char* from;
    const char* to;
};
const std::map<std::string, Mutation>& mutations() {
    static const std::map<std::string, Mutation> m = {
        {"cluster.name", {"name: full", "name: fuller"}},
        {"cluster.key_file", {"authkey", "authkey2"}},
        {"cluster.state_dir", {"/var/lib/veeam-ha", "/var/lib/veeam-ha2"}},
        {"cluster.admin_socket", {"admin.sock", "admin2.sock"}},
        {"cluster.http_listen", {"127.0.0.1:9668", "127.0.0.1:9669"}},
        {"nodes[].name", {"name: b.example", "name: c.example"}},
        {"nodes[].addresses", {"198.51.100.2]", "198.51.100.3]"}},
        {"nodes[].vm_uuid", {"9999-aaaaaaaaaaaa", "9999-aaaaaaaaaaab"}},
        {"nodes[].priority", {"priority: 50", "priority: 60"}},
        {"heartbeat.port", {"port: 5409", "port: 5410"}},
        {"heartbeat.interval", {"  interval: 200ms", "  interval: 300ms"}},
        {"heartbeat.timeout", {"  timeout: 1s", "  timeout: 2s"}},
        {"fencing.action", {"action: off", "action: reboot"}},
        {"fencing.timeout", {"timeout: 60s\n  delay", "timeout: 61s\n  delay"}},
        {"fencing.delay", {"delay: 5s", "delay: 6s"}},
        {"fencing.vsphere.host", {"host: 192.0.2.10", "host: 192.0.2.11"}},
        {"fencing.vsphere.port", {"port: 443", "port: 8443"}},
        {"fencing.vsphere.username", {"username: fence", "username: fencer"}},
        {"fencing.vsphere.password_file", {"vcenter.pass", "vcenter2.pass"}},
        {"fencing.vsphere.ca_file",
         {"thumbprint: 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef", "ca_file: /etc/vc.pem"}},
        {"fencing.vsphere.thumbprint", {"0123456789abcdef0123456789ABCDEF", "1123456789abcdef0123456789ABCDEF"}},
        {"fencing.vsphere.insecure",
         {"thumbprint: 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef", "insecure: true"}},
        {"fencing.vsphere.uuid_kind", {"uuid_kind: bios", "uuid_kind: instance"}},
        {"fencing.vsphere.call_timeout", {"call_timeout: 10s", "call_timeout: 11s"}},
        {"fencing.levels[].agent", {"fence_ipmilan", "fence_idrac"}},
        {"fencing.levels[].args", {"ip: 192.0.2.20", "ip: 192.0.2.21"}},
        {"fencing.levels[].nodes", {"nodes: [a.example]", "nodes: [b.example]"}},
        {"policy.failback", {"failback: false", "failback: true"}},
        {"policy.migration_threshold", {"migration_threshold: 3", "migration_threshold: 4"}},
        {"policy.failure_timeout", {"failure_timeout: 10m", "failure_timeout: 11m"}},
        {"policy.startup_fencing", {"startup_fencing: true", "startup_fencing: false"}},
        {"policy.ping_targets", {"[192.0.2.254]", "[192.0.2.253]"}},
        {"policy.ping_timeout", {"ping_timeout: 500ms", "ping_timeout: 600ms"}},
        {"resources[].name", {"name: svc", "name: svc2"}},
        {"resources[].start_timeout", {"start_timeout: 60s", "start_timeout: 61s"}},
        {"resources[].stop_timeout", {"stop_timeout: 60s", "stop_timeout: 61s"}},
        {"resources[].monitor_interval", {"monitor_interval: 10s", "monitor_interval: 11s"}},
        {"resources[].monitor_timeout", {"monitor_timeout: 20s", "monitor_timeout: 21s"}},
        {"resources[].lvm.vg", {"lvm: {vg: vg0", "lvm: {vg: vg1"}},
        {"resources[].lvm.mode", {"mode: system_id", "mode: tag"}},
        {"resources[].lvm.partial", {"partial: refuse", "partial: allow"}},
        {"resources[].filesystem.device", {"vg0-data", "vg0-data2"}},
        {"resources[].filesystem.mountpoint", {"mountpoint: /data,", "mountpoint: /data/sub,"}},
        {"resources[].filesystem.fstype", {"fstype: xfs", "fstype: ext4"}},
        {"resources[].filesystem.options", {"options: noatime", "options: relatime"}},
        {"resources[].filesystem.deep_check", {"deep_check: false", "deep_check: true"}},
        {"resources[].filesystem.force_unmount", {"force_unmount: kill", "force_unmount: lazy"}},
        {"resources[].ip.address", {"192.0.2.100/24", "192.0.2.101/24"}},
        {"resources[].ip.interface", {"interface: eth0, label: \"eth0:ha\"", "interface: eth1, label: \"eth1:ha\""}},
        {"resources[].ip.label", {"eth0:ha", "eth0:hb"}},
        {"resources[].ip.garp_count", {"garp_count: 5", "garp_count: 6"}},
        {"resources[].ip.garp_interval", {"garp_interval: 200ms", "garp_interval: 300ms"}},
        {"resources[].ip.garp_repeat_after", {"garp_repeat_after: 5s", "garp_repeat_after: 6s"}},
        {"resources[].ip.dad_window", {"dad_window: 50ms", "dad_window: 60ms"}},
        {"resources[].service.unit", {"unit: app", "unit: app2"}},
        {"resources[].exec.start", {"true, start]", "true, begin]"}},
        {"resources[].exec.stop", {"true, stop]", "true, halt]"}},
        {"resources[].exec.monitor", {"true, monitor]", "true, check]"}},
        {"alerts[].exec", {"/usr/local/bin/alert", "/usr/local/bin/alert2"}},
        {"alerts[].recipient", {"/var/log/alerts", "/var/log/alerts2"}},
        {"alerts[].events", {"events: [fenced]", "events: [takeover]"}},
        {"alerts[].timeout", {"timeout: 30s", "timeout: 31s"}},
        {"sync.paths", {"/etc/app.conf", "/etc/app2.conf"}},
        {"sync.ssh_host_keys", {"ssh_host_keys: false", "ssh_host_keys: true"}},
        {"sync.ssh_reload", {"reload, ssh]", "restart, ssh]"}},
        {"sync.max_file_size", {"max_file_size: 64MiB", "max_file_size: 32MiB"}},
        {"sync.max_files", {"max_files: 1000", "max_files: 999"}},
        {"sync.max_total_size", {"max_total_size: 256MiB", "max_total_size: 255MiB"}},
        {"resources[].bind.source", {"source: /data/sub/etc-app", "source: /data/sub/etc-app2"}},
        {"resources[].bind.target", {"target: /etc/app,", "target: /etc/app2,"}},
        {"resources[].bind.allow_nonempty_target", {"allow_nonempty_target: false", "allow_nonempty_target: true"}},
        {"peer_check.users", {"users: [veeam-usr-1]", "users: [veeam-usr-2]"}},
        {"peer_check.groups", {"groups: [veeam]", "groups: [veeamgrp]"}},
    };
    return m;
}

config::Config load(const std::string& text) {
    config::LoadOptions options;
    options.check_files = false;
    auto r = config::load_string(text, "test.yaml", options);
    std::string errors;
    for (const auto& e : r.errors) errors += e.to_string() + "\n";
    INFO(errors);
    REQUIRE(r.config);
    return *r.config;
}

// "resources[2].ip.label" -> "resources[].ip.label"; "sync#" -> "sync".
std::string pattern_of(std::string key) {
    key = std::regex_replace(key, std::regex(R"(\[\d+\])"), "[]");
    if (!key.empty() && key.back() == '#') key.pop_back();
    return key;
}

}  // namespace

TEST_CASE("the config digest changes with every key of the schema, and names it") {
    const config::Config base = load(kFull);
    const auto base_lines = config::canonical_lines(base);
    std::set<std::string> sections;
    for (const auto& s : config::detail::all_sections()) sections.insert(s);
    size_t checked = 0;
    for (const auto& section : config::detail::all_sections()) {
        for (const auto& key : config::detail::keys_of(section)) {
            const std::string path = section.empty() ? key : section + "." + key;
            if (sections.count(path) || sections.count(path + "[]")) continue;  // a mapping: its keys count
            INFO("key " << path);
            auto it = mutations().find(path);
            REQUIRE(it != mutations().end());  // a new key: add a mutation above (and to canonical.cc)
            std::string text = kFull;
            auto at = text.find(it->second.from);
            REQUIRE(at != std::string::npos);
            REQUIRE(text.find(it->second.from, at + 1) == std::string::npos);
            text.replace(at, std::string(it->second.from).size(), it->second.to);
            const config::Config changed = load(text);
            CHECK(config::digest(changed) != config::digest(base));
            // The lines that differ name the key (so check --peer can say what differs).
            auto lines = config::canonical_lines(changed);
            std::set<std::string> a(base_lines.begin(), base_lines.end()), b(lines.begin(), lines.end());
            std::set<std::string> named;
            for (const auto* side : {&a, &b})
                for (const auto& l : *side)
                    if (!(side == &a ? b : a).count(l)) named.insert(pattern_of(l.substr(0, l.find('='))));
            INFO("lines that differ name: " << [&] { std::string s; for (auto& n : named) s += n + " "; return s; }());
            bool names_it = false;
            for (const auto& n : named) names_it = names_it || n == path || n.rfind(path + ".", 0) == 0 || n.rfind(path + "[", 0) == 0;
            CHECK(names_it);
            ++checked;
        }
    }
    CHECK(checked == mutations().size());
}

TEST_CASE("the config digest ignores comments, spacing, key order and how a value is spelt") {
    const std::string a = R"(cluster: {name: c}
nodes:
  - {name: a.example, addresses: [192.0.2.1], vm_uuid: 11111111-2222-3333-4444-555555555555}
  - {name: b.example, addresses: [192.0.2.2], vm_uuid: 66666666-7777-8888-9999-aaaaaaaaaaaa}
fencing:
  vsphere: {host: 192.0.2.10, username: f, password_file: /etc/p, insecure: true}
policy: {failure_timeout: 1m, ping_targets: [192.0.2.254]}
resources:
  - service: {unit: app}
)";
    const std::string b = R"(# the same cluster, written otherwise
policy:
  ping_targets:   [ 192.0.2.254 ]   # the gateway
  failure_timeout: 60s
resources:
  - service:
      unit: app.service
fencing:
  vsphere:
    insecure: true
    password_file: /etc/p
    username: f
    host: 192.0.2.10
nodes:
  - name: a.example
    vm_uuid: 11111111-2222-3333-4444-555555555555
    addresses: [192.0.2.1]
  - vm_uuid: 66666666-7777-8888-9999-AAAAAAAAAAAA
    name: b.example
    addresses: [192.0.2.2]
cluster:
  name: c
)";
    CHECK(config::canonical_lines(load(a)) == config::canonical_lines(load(b)));
    CHECK(config::digest(load(a)) == config::digest(load(b)));
    CHECK(config::digest(load(a)) != 0);
}

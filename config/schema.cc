// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/schema.h"

#include <utility>

namespace veeamha::config::detail {

namespace {

using Table = std::vector<std::pair<std::string, std::vector<std::string>>>;

const Table& table() {
    static const Table t = {
        {"", {"cluster", "nodes", "heartbeat", "fencing", "policy", "resources", "alerts", "sync", "peer_check"}},
        {"cluster", {"name", "key_file", "state_dir", "admin_socket", "http_listen"}},
        {"nodes[]", {"name", "addresses", "vm_uuid", "priority"}},
        {"heartbeat", {"port", "interval", "timeout"}},
        {"fencing", {"action", "timeout", "delay", "vsphere", "levels"}},
        {"fencing.vsphere",
         {"host", "port", "username", "password_file", "ca_file", "thumbprint", "insecure",
          "uuid_kind", "call_timeout"}},
        {"fencing.levels[]", {"agent", "args", "nodes"}},
        {"policy",
         {"failback", "migration_threshold", "failure_timeout", "startup_fencing", "ping_targets",
          "ping_timeout"}},
        {"resources[]",
         {"name", "lvm", "filesystem", "bind", "ip", "service", "exec", "start_timeout", "stop_timeout",
          "monitor_interval", "monitor_timeout"}},
        {"resources[].lvm", {"vg", "mode", "partial"}},
        {"resources[].filesystem",
         {"device", "mountpoint", "fstype", "options", "deep_check", "force_unmount"}},
        {"resources[].bind", {"source", "target", "allow_nonempty_target"}},
        {"resources[].ip",
         {"address", "interface", "label", "garp_count", "garp_interval", "garp_repeat_after", "dad_window"}},
        {"resources[].service", {"unit"}},
        {"resources[].exec", {"start", "stop", "monitor"}},
        {"alerts[]", {"exec", "recipient", "events", "timeout"}},
        {"sync", {"paths", "ssh_host_keys", "ssh_reload", "max_file_size", "max_files", "max_total_size"}},
        {"peer_check", {"users", "groups"}},
    };
    return t;
}

}  // namespace

const std::vector<std::string>& keys_of(std::string_view section) {
    static const std::vector<std::string> none;
    for (const auto& [name, keys] : table())
        if (name == section) return keys;
    return none;
}

std::vector<std::string> sections_with(std::string_view key) {
    std::vector<std::string> out;
    for (const auto& [name, keys] : table())
        for (const auto& k : keys)
            if (k == key) out.push_back(name);
    return out;
}

std::vector<std::string> all_sections() {
    std::vector<std::string> out;
    for (const auto& entry : table()) out.push_back(entry.first);
    return out;
}

bool is_password_key(std::string_view key) { return key == "password" || key == "passwd"; }

const std::vector<std::string>& resource_kinds() {
    static const std::vector<std::string> kinds = {"lvm", "filesystem", "bind", "ip", "service", "exec"};
    return kinds;
}

}  // namespace veeamha::config::detail

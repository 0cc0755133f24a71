// SPDX-License-Identifier: GPL-2.0-or-later
// The policy, alerts, sync and peer_check sections.
#include <cctype>

#include "config/event_kinds.h"
#include "config/sections.h"
#include "config/syntax.h"

namespace veeamha::config::detail {

void parse_policy(const Value& v, PolicySection& out) {
    Mapping m(v, "policy");
    if (!m.ok()) return;
    if (auto x = m.get("failback")) read_bool(*x, out.failback);
    if (auto x = m.get("migration_threshold")) read_int(*x, 0, 100, out.migration_threshold);
    if (auto x = m.get("failure_timeout"))
        read_duration(*x, 1000ms, Duration(30LL * 24 * 3600 * 1000), out.failure_timeout);
    if (auto x = m.get("startup_fencing")) read_bool(*x, out.startup_fencing);
    if (auto x = m.get("ping_targets")) {
        const char* what = "a list of addresses to ping, e.g. [192.168.22.1]";
        if (auto items = x->items(what, 8)) {
            for (const auto& item : *items) {
                std::string text;
                if (!read_string(item, text, "an IPv4 or IPv6 address")) continue;
                auto ip = parse_ip(text);
                if (!ip)
                    item.expected("an IPv4 or IPv6 address");
                else if (is_loopback(*ip))
                    item.expected("the address of another host (a loopback address always "
                                  "answers, so it cannot tell that a node is cut off)");
                else if (is_unspecified(*ip) || is_multicast(*ip))
                    item.expected("the unicast address of another host");
                else
                    out.ping_targets.push_back(ip->text);
            }
        }
    }
    if (auto x = m.get("ping_timeout")) read_duration(*x, 10ms, 10000ms, out.ping_timeout);
}

void parse_alerts(const Value& v, std::vector<Alert>& out) {
    auto items = v.items("a list of alerts, e.g. [{exec: /usr/local/lib/veeam-ha/alert}]", 16);
    if (!items) return;
    for (const auto& item : *items) {
        Mapping m(item, "alerts[]");
        if (!m.ok()) continue;
        Alert alert;
        const char* what = "an absolute path to the program to run";
        bool ok = false;
        if (auto x = m.require("exec", what)) ok = read_path(*x, alert.exec, what);
        if (auto x = m.get("recipient"))
            ok = read_string(*x, alert.recipient, "what the program sends to, e.g. a file or an address") && ok;
        if (auto x = m.get("timeout")) ok = read_duration(*x, 1000ms, 600000ms, alert.timeout) && ok;
        if (auto x = m.get("events")) {
            const char* kinds = "a list of event kinds (peer-lost, fenced, takeover, resource-failed, ...) or "
                                "classes (node, fencing, resource)";
            if (auto listed = x->items(kinds, 64)) {
                for (const auto& entry : *listed) {
                    std::string kind;
                    if (!read_string(entry, kind, kinds)) {
                        ok = false;
                        continue;
                    }
                    bool known = kind == "node" || kind == "fencing" || kind == "resource";
                    for (const char* k : kEventKinds) known = known || kind == k;
                    for (const char* k : kRuntimeEventKinds) known = known || kind == k;
                    if (!known) {
                        entry.expected("an event kind (see `veeam-hactl history`: peer-lost, fenced, takeover, "
                                      "resource-failed, ...) or a class (node, fencing, resource)");
                        ok = false;
                        continue;
                    }
                    alert.events.push_back(kind);
                }
            } else {
                ok = false;
            }
        }
        if (ok) out.push_back(alert);
    }
}

namespace {

// A path that names one place only: absolute, no empty, "." or ".." parts, no trailing slash.
bool is_plain_path(const std::string& path) {
    if (path.size() < 2 || path[0] != '/' || path.back() == '/') return false;
    size_t at = 1;
    while (at <= path.size()) {
        size_t end = path.find('/', at);
        if (end == std::string::npos) end = path.size();
        std::string part = path.substr(at, end - at);
        if (part.empty() || part == "." || part == "..") return false;
        at = end + 1;
    }
    return true;
}

bool inside(const std::string& path, const std::string& folder) {
    return path.size() > folder.size() && path.compare(0, folder.size(), folder) == 0 && path[folder.size()] == '/';
}

void parse_sync_paths(const Value& v, std::vector<std::string>& out) {
    const char* what = "an absolute path of a file or folder";
    auto items = v.items("a list of absolute paths of files and folders", 256);
    if (!items) return;
    std::vector<std::string> paths;  // by index, "" for the ones with errors
    for (const auto& item : *items) {
        std::string path;
        if (read_path(item, path, what) && !is_plain_path(path)) {
            item.expected("a path without \".\", \"..\", \"//\" or a trailing slash, e.g. /etc/VeeamNetConfig");
            path.clear();
        }
        for (size_t i = 0; !path.empty() && i < paths.size(); ++i) {
            if (paths[i].empty()) continue;
            const std::string other = (*items)[i].path();
            if (paths[i] == path)
                item.error("expected each file once, found " + path + " again (also " + other + ")");
            else if (inside(path, paths[i]) || inside(paths[i], path))
                item.error("expected paths apart, found " + path + " and " + paths[i] + " (" + other +
                           "), one inside the other; list the folder alone");
            else
                continue;
            path.clear();
        }
        if (!path.empty()) out.push_back(path);
        paths.push_back(path);
    }
}

// A size in bytes: 1048576, 512KiB, 64MiB, 1GiB.
bool read_size(const Value& v, uint64_t min, uint64_t max, uint64_t& out) {
    const std::string& t = v.text();
    size_t digits = 0;
    while (digits < t.size() && digits < 12 && t[digits] >= '0' && t[digits] <= '9') ++digits;
    const std::string unit = t.substr(digits);
    uint64_t scale = unit.empty() ? 1 : unit == "KiB" ? 1ull << 10 : unit == "MiB" ? 1ull << 20 : unit == "GiB" ? 1ull << 30 : 0;
    const std::string range = " from " + std::to_string(min >> 10) + "KiB to " + std::to_string(max >> 20) + "MiB";
    if (!v.is_scalar() || digits == 0 || scale == 0) return v.expected("a size like 64MiB (KiB, MiB, GiB or bytes)" + range);
    uint64_t bytes = std::stoull(t.substr(0, digits)) * scale;
    if (bytes < min || bytes > max) return v.expected("a size" + range);
    out = bytes;
    return true;
}

}  // namespace

void parse_sync(const Value& v, SyncSection& out) {
    if (v.is_list() || v.is_null()) {  // the first form: a list of files
        parse_sync_paths(v, out.paths);
        return;
    }
    Mapping m(v, "sync");
    if (!m.ok()) return;
    if (auto x = m.get("paths")) parse_sync_paths(*x, out.paths);
    if (auto x = m.get("ssh_host_keys")) read_bool(*x, out.ssh_host_keys);
    if (auto x = m.get("ssh_reload")) {
        const char* what = "a command as a list, program first, e.g. [/usr/bin/systemctl, reload, ssh]";
        if (auto items = x->items(what, 32)) {
            std::vector<std::string> argv;
            bool ok = !items->empty() || x->expected(what);
            for (size_t i = 0; ok && i < items->size(); ++i) {
                std::string arg;
                ok = i == 0 ? read_path((*items)[i], arg, "an absolute path to the program")
                            : read_text((*items)[i], arg, "an argument");
                argv.push_back(arg);
            }
            if (ok) out.ssh_reload = argv;
        }
    }
    if (auto x = m.get("max_file_size")) read_size(*x, 1ull << 10, 1ull << 30, out.max_file_size);
    if (auto x = m.get("max_total_size")) read_size(*x, 1ull << 10, 16ull << 30, out.max_total_size);
    if (auto x = m.get("max_files")) {
        int n = 0;
        if (read_int(*x, 1, 10000, n)) out.max_files = static_cast<uint32_t>(n);
    }
    for (const auto& p : out.paths)
        if (out.ssh_host_keys && (p == "/etc/ssh" || p.rfind("/etc/ssh/ssh_host_", 0) == 0 || inside("/etc/ssh", p)))
            m.value().error("expected " + p + " in sync.paths or sync.ssh_host_keys, not both");
}

namespace {

// useradd's default rule (NAME_REGEX): a lower-case letter or '_', then letters, digits, '_',
// '-', an optional final '$'; at most 32.
bool valid_account_name(const std::string& name) {
    if (name.empty() || name.size() > 32) return false;
    if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
    for (size_t i = 1; i < name.size(); ++i) {
        char c = name[i];
        bool ok = std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                  c == '_' || c == '-' || (c == '$' && i + 1 == name.size());
        if (!ok) return false;
    }
    return true;
}

std::optional<std::vector<std::string>> read_account_names(const Value& v, const char* what) {
    auto items = v.items(what, 256);
    if (!items) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& item : *items) {
        std::string name;
        if (!read_string(item, name, what)) continue;
        if (!valid_account_name(name))
            item.expected("an account name (a lower-case letter or '_', then letters, digits, '_' or '-'; at most 32)");
        else
            names.push_back(name);
    }
    return names;
}

}  // namespace

void parse_peer_check(const Value& v, PeerCheckSection& out) {
    Mapping m(v, "peer_check");
    if (!m.ok()) return;
    if (auto x = m.get("users")) out.users = read_account_names(*x, "a list of user names, e.g. [veeam-usr-1]");
    if (auto x = m.get("groups")) out.groups = read_account_names(*x, "a list of group names, e.g. [veeam]");
}

}  // namespace veeamha::config::detail

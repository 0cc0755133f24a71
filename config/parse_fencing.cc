// SPDX-License-Identifier: GPL-2.0-or-later
// The fencing section: vSphere and the fence-agent levels.
#include <algorithm>
#include <cctype>

#include "config/schema.h"
#include "config/sections.h"
#include "config/syntax.h"

namespace veeamha::config::detail {

namespace {

void parse_vsphere(const Value& v, VSphere& out) {
    Mapping m(v, "fencing.vsphere");
    if (!m.ok()) return;
    if (auto x = m.require("host", "vCenter's host name or address, e.g. vcsa67.vmik.lab")) {
        std::string host;
        const char* what = "vCenter's host name or address, e.g. vcsa67.vmik.lab";
        if (read_string(*x, host, what)) {
            if (auto ip = parse_ip(host))
                out.host = ip->text;
            else if (valid_host_name(host))
                out.host = host;
            else
                x->expected(what);
        }
    }
    if (auto x = m.get("port")) read_port(*x, out.port);
    if (auto x = m.require("username", "the vCenter user, e.g. admin@vmik.lab"))
        read_string(*x, out.username, "the vCenter user, e.g. admin@vmik.lab");
    if (auto x = m.require("password_file", "an absolute path to a file with the vCenter password"))
        read_path(*x, out.password_file, "an absolute path to a file with the vCenter password");

    auto ca = m.get("ca_file");
    auto thumb = m.get("thumbprint");
    auto insecure = m.get("insecure");
    bool trust_ok = true;
    if (ca) trust_ok &= read_path(*ca, out.ca_file, "an absolute path to a PEM CA certificate");
    if (thumb) {
        std::string text, why;
        if (read_string(*thumb, text, "a SHA-256 thumbprint")) {
            if (auto t = normalize_thumbprint(text, why))
                out.thumbprint = *t;
            else
                trust_ok = thumb->expected(why);
        } else {
            trust_ok = false;
        }
    }
    if (insecure) trust_ok &= read_bool(*insecure, out.insecure);
    if (trust_ok) {
        std::vector<std::string> given;
        if (ca) given.push_back("ca_file");
        if (thumb) given.push_back("thumbprint");
        if (out.insecure) given.push_back("insecure: true");
        if (given.empty())
            v.error("expected one of ca_file, thumbprint or insecure: true (how to trust "
                    "vCenter's certificate), found none");
        else if (given.size() > 1)
            v.error("expected only one of ca_file, thumbprint or insecure: true, found " +
                    one_of(given, " and "));
    }
    if (auto x = m.get("uuid_kind"))
        read_choice<UuidKind>(*x, {{"bios", UuidKind::Bios}, {"instance", UuidKind::Instance}},
                              out.uuid_kind);
    if (auto x = m.get("call_timeout")) read_duration(*x, 1000ms, 600000ms, out.call_timeout);
}

bool valid_agent(const std::string& agent) {
    if (agent[0] == '/') return true;
    if (agent.size() <= 6 || agent.size() > 64 || agent.compare(0, 6, "fence_") != 0) return false;
    return std::all_of(agent.begin(), agent.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

bool valid_arg_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

void parse_args(const Value& v, std::vector<std::pair<std::string, std::string>>& out) {
    if (v.is_null()) return;
    if (!v.is_map()) {
        v.expected("a mapping of the agent's arguments, e.g. {ip: 10.0.0.11, username: admin}");
        return;
    }
    Diagnostics& diag = v.diag();
    size_t count = 0;
    for (const auto& pair : v.node()) {
        const YAML::Node key_node = pair.first, value_node = pair.second;
        if (++count > 64) {
            v.error("expected at most 64 arguments, found " + std::to_string(v.node().size()));
            return;
        }
        YAML::Mark km = key_node.Mark();
        Location key_at = diag.at(km.line, km.column);
        Value key(key_node, v.path(), key_at, diag);
        std::string name;
        if (!read_string(key, name, "an argument name")) continue;
        std::string path = v.path() + "." + name;  // argument names are checked below
        YAML::Mark vm = value_node.Mark();
        Location val_at = value_node.IsNull() || vm.is_null() ? key_at : diag.at(vm.line, vm.column);
        Value val(value_node, path, val_at, diag);
        if (!valid_arg_name(name)) {
            diag.error(key_at, path, "expected an argument name of a-z, 0-9, '_' or '-' (as in the agent's stdin protocol)");
            continue;
        }
        if (name == "action") {
            diag.error(key_at, path, "set by veeam-had for each operation (off, on, status); remove it");
            continue;
        }
        if (is_password_key(name)) {
            diag.error(key_at, path, kPasswordInConfig);
            continue;
        }
        if (std::any_of(out.begin(), out.end(), [&](const auto& a) { return a.first == name; })) {
            diag.error(key_at, path, "duplicate argument");
            continue;
        }
        std::string text;
        if (name == "password_file") {
            if (!read_path(val, text, "an absolute path to a file with the password")) continue;
        } else if (!read_text(val, text, "a single value (text, number or true/false)")) {
            continue;
        }
        out.emplace_back(name, text);
    }
}

void parse_level(const Value& v, FenceLevel& out) {
    out.where = v.where();
    Mapping m(v, "fencing.levels[]");
    if (!m.ok()) return;
    const char* agent_what = "a fence agent, e.g. fence_ipmilan, or an absolute path to one";
    if (auto x = m.require("agent", agent_what)) {
        std::string agent;
        if (read_string(*x, agent, agent_what)) {
            if (valid_agent(agent))
                out.agent = agent;
            else
                x->expected(agent_what);
        }
    }
    if (auto x = m.get("args")) parse_args(*x, out.args);
    if (auto x = m.get("nodes")) {
        if (auto items = x->items("a list of node names", 2)) {
            for (const auto& item : *items) {
                std::string name;
                if (read_string(item, name, "a node name")) out.nodes.push_back(name);
            }
        }
    }
}

}  // namespace

void parse_fencing(const Value& v, FencingSection& out) {
    Mapping m(v, "fencing");
    if (!m.ok()) return;
    if (auto x = m.get("action"))
        read_choice<FenceAction>(*x, {{"off", FenceAction::Off}, {"reboot", FenceAction::Reboot}},
                                 out.action);
    if (auto x = m.get("timeout")) read_duration(*x, 1000ms, 3600000ms, out.timeout);
    if (auto x = m.get("delay")) read_duration(*x, 0ms, 600000ms, out.delay);
    if (auto x = m.get("vsphere")) {
        out.vsphere.emplace();
        parse_vsphere(*x, *out.vsphere);
    }
    if (auto x = m.get("levels")) {
        if (auto items = x->items("a list of fence levels", 8)) {
            for (const auto& item : *items) {
                FenceLevel level;
                parse_level(item, level);
                out.levels.push_back(std::move(level));
            }
        }
    }
    if (!m.has("vsphere") && (!m.has("levels") || (out.levels.empty() && !v.diag().failed(v.path() + ".levels"))))
        v.error("expected fencing.vsphere or fencing.levels (a way to power off a lost peer), "
                "found neither");
}

}  // namespace veeamha::config::detail

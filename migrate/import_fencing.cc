// SPDX-License-Identifier: GPL-2.0-or-later
// Fence devices -> `fencing`. fence_vmware_soap and fence_vmware_rest become fencing.vsphere, and
// their pcmk_host_map (node:VM) the nodes' vm_uuid; any other agent becomes fencing.levels, one
// level per node when Pacemaker told the agent which machine by a per-node plug. Passwords are
// never copied: each device gets a password file to create, and a step that says how.
#include <algorithm>
#include <cctype>
#include <set>

#include "config/syntax.h"
#include "migrate/import_detail.h"
#include "migrate/pacemaker_values.h"

namespace veeamha::migrate::detail {

namespace {

bool is_vsphere(const CibPrimitive& dev) {
    return dev.type == "fence_vmware_soap" || dev.type == "fence_vmware_rest";
}

// The first of `names` the device sets (fence agents renamed ipaddr to ip, login to username, ...).
std::string first_of(const CibPrimitive& dev, std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (!value_of(dev.params, n).empty()) return value_of(dev.params, n);
    return "";
}

std::string safe_file_part(const std::string& id) {
    std::string out;
    for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    return out;
}

std::string password_step(const std::string& file, const std::string& whose) {
    return "create " + file + " with the password of " + whose +
           " (the CIB's password is not copied), mode 0600, on both nodes:\n"
           "      install -d -m 0700 " + std::string(kSecretsDir) + " && (umask 077 && systemd-ask-password 'Password of " + whose +
           ":' > " + file + ")";
}

// Which machine the device fences for each node: pcmk_host_map, else the device's own port/plug
// for the nodes of pcmk_host_list, else (what Pacemaker does) the node's name.
struct Target {
    std::string node;
    std::string port;
    bool by_name = false;  // no mapping: Pacemaker passed the node name
};

std::vector<Target> targets(Import& im, const CibPrimitive& dev, std::vector<std::string>& notes) {
    std::vector<Target> out;
    HostMap map = parse_host_map(value_of(dev.params, "pcmk_host_map"));
    for (const auto& bad : map.malformed)
        notes.push_back(dev.where + ": pcmk_host_map entry '" + bad + "' is not NODE:PORT; ignored");
    if (!map.entries.empty()) {
        for (const auto& [node, port] : map.entries) out.push_back({node, port, false});
        return out;
    }
    std::vector<std::string> nodes = split_list(value_of(dev.params, "pcmk_host_list"));
    if (nodes.empty())
        for (const auto& n : im.nodes) nodes.push_back(n.name);
    const std::string port = first_of(dev, {"plug", "port"});
    for (const auto& n : nodes) out.push_back({n, port.empty() ? n : port, port.empty()});
    return out;
}

struct Notes {
    std::vector<std::string> pacemaker_only, agent_only, other;
};

// Attributes the vSphere section consumes.
const std::set<std::string> kVsphereKeys = {
    "ip", "ipaddr", "ipport", "username", "login", "password", "passwd", "password_script", "passwd_script",
    "ssl", "ssl_insecure", "ssl_secure", "notls", "port", "plug", "pcmk_host_map", "pcmk_host_list",
    "pcmk_host_check"};

void sort_attribute(const CibPrimitive& dev, const std::string& name, const std::string& value, Notes& notes) {
    if (name == "pcmk_reboot_action" || name == "pcmk_off_action") {
        if (value == "on")
            notes.other.push_back(dev.id + ": " + name + "=on: Pacemaker then only powered the VM on, so a fence "
                                  "never turned the lost node off; veeam-had powers it off and reads the power state back");
        else
            notes.other.push_back(dev.id + ": " + name + "=" + value + ": fencing.action says what a fence does");
    } else if (name == "pcmk_delay_base" || name == "pcmk_delay_max" || name == "delay") {
        notes.other.push_back(dev.id + ": " + name + "=" + value +
                              ": fencing.delay (5s by default) makes the non-preferred node wait instead");
    } else if (name.rfind("pcmk_", 0) == 0 || name == "priority") {
        notes.pacemaker_only.push_back(name);
    } else {
        notes.agent_only.push_back(name + "=" + (is_secret_name(name) ? "(not copied)" : value));
    }
}

void flush_notes(YamlOut& out, int indent, const std::string& dev, const Notes& notes, bool vsphere) {
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s;
    };
    if (!notes.pacemaker_only.empty())
        out.comment(indent, dev + ": not migrated, Pacemaker's own device settings: " + join(notes.pacemaker_only));
    if (!notes.agent_only.empty())
        out.comment(indent, dev + ": not migrated, agent options with no equivalent" +
                                std::string(vsphere ? " (veeam-had talks to vCenter itself; call_timeout bounds "
                                                      "each call)" : "") + ": " + join(notes.agent_only));
    for (const auto& n : notes.other) out.comment(indent, n);
}

void write_vsphere(Import& im, YamlOut& out, const std::vector<const CibPrimitive*>& devs) {
    const CibPrimitive& dev = *devs.front();
    out.line(2, "vsphere:");
    std::string from = dev.id + " (" + dev.type + ")";
    std::string host = first_of(dev, {"ip", "ipaddr"});
    out.key(4, "host", scalar(host.empty() ? im.fill_in("vCenter's host name or address") : host),
            host.empty() ? from + " has no ip" : "ip of " + from);
    std::string port = value_of(dev.params, "ipport");
    if (!port.empty() && port != "443") out.key(4, "port", scalar(port), "ipport of " + dev.id);
    std::string user = first_of(dev, {"username", "login"});
    out.key(4, "username", scalar(user.empty() ? im.fill_in("the vCenter user") : user));
    const std::string file = std::string(kSecretsDir) + "/vcenter.pass";
    out.key(4, "password_file", file, "create it: see the steps import-pcs printed");
    std::string script = first_of(dev, {"password_script", "passwd_script"});
    if (!script.empty()) out.comment(4, dev.id + " read its password from the script " + script + ": put what it prints in " + file);
    im.result.steps.push_back(password_step(file, (user.empty() ? "the vCenter user" : user) + " on " +
                                                      (host.empty() ? "vCenter" : host)));
    if (parse_pcmk_bool(value_of(dev.params, "ssl_insecure")) == true) {
        out.key(4, "insecure", "true",
                "ssl_insecure=1 of " + dev.id + ": no certificate check (a warning); better: ca_file or thumbprint");
    } else {
        const std::string ca = std::string(kSecretsDir) + "/vcenter-ca.pem";
        out.key(4, "ca_file", ca, dev.id + " verified vCenter with the system's CAs: put vCenter's CA (PEM) here");
        im.result.steps.push_back("put the CA certificate that signed vCenter's certificate (PEM) in " + ca +
                                  ", or replace ca_file with `thumbprint: SHA256:...` (openssl x509 -noout "
                                  "-fingerprint -sha256)");
    }
    if (parse_pcmk_bool(value_of(dev.params, "notls")) == true)
        out.comment(4, dev.id + ": notls: veeam-had always talks HTTPS to vCenter");

    // Each node's VM, from every vSphere device merged here.
    for (const CibPrimitive* d : devs) {
        std::vector<std::string> target_notes;
        for (const Target& t : targets(im, *d, target_notes)) {
            int i = im.node_index(t.node);
            if (i < 0) {
                target_notes.push_back(d->id + " maps " + t.node + ", which is not one of the nodes; ignored");
                continue;
            }
            NodeDraft& node = im.nodes[static_cast<size_t>(i)];
            if (auto uuid = config::detail::normalize_uuid(t.port)) {
                node.vm_uuid = *uuid;
                node.vm_uuid_note = "pcmk_host_map of " + d->id;
                if (value_of(d->params, "pcmk_host_map").empty()) node.vm_uuid_note = "plug of " + d->id;
            } else {
                node.vm_uuid = im.fill_in(node.name + "'s VM BIOS UUID (veeam-hactl fence list)");
                node.vm_uuid_note = d->id + " found this VM by " +
                                    (t.by_name ? "the node's name" : "the name '" + t.port + "'") +
                                    "; veeam-had needs its BIOS UUID: `veeam-hactl fence list` shows it";
            }
        }
        for (const auto& n : target_notes) out.comment(4, n);
        Notes notes;
        for (const auto& [name, value] : d->params)
            if (!kVsphereKeys.count(name)) sort_attribute(*d, name, value, notes);
        flush_notes(out, 4, d->id, notes, true);
    }
}

// Writes the level(s) of one device; returns the nodes they fence ("" for both nodes).
std::vector<std::string> write_level(Import& im, YamlOut& out, const CibPrimitive& dev) {
    Notes notes;
    NvPairs args;
    std::string password_file;
    const std::string host_arg = value_of(dev.params, "pcmk_host_argument").empty()
                                     ? "plug"
                                     : value_of(dev.params, "pcmk_host_argument");
    bool has_map = !value_of(dev.params, "pcmk_host_map").empty();
    bool own_port = !first_of(dev, {"plug", "port"}).empty();
    for (const auto& [name, value] : dev.params) {
        if (name == "password" || name == "passwd" || name == "password_script" || name == "passwd_script") {
            password_file = std::string(kSecretsDir) + "/" + safe_file_part(dev.id) + ".pass";
            if (name.find("script") != std::string::npos)
                notes.other.push_back(dev.id + " read its password from the script " + value + ": put what it prints in " +
                                      password_file);
        } else if (name == "pcmk_host_map" || name == "pcmk_host_list" || name == "pcmk_host_check" ||
                   name == "pcmk_host_argument") {
            // turned into the levels' nodes and per-node plug below
        } else if (name.rfind("pcmk_", 0) == 0 || name == "priority" || name == "delay" || name == "action") {
            sort_attribute(dev, name, value, notes);
        } else if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
            notes.other.push_back(dev.id + ": attribute '" + name + "' is not a fence-agent option name; not migrated");
        } else {
            args.emplace_back(name, value);
        }
    }
    if (!password_file.empty()) {
        args.emplace_back("password_file", password_file);
        im.result.steps.push_back(password_step(password_file, "the " + dev.type + " user of " + dev.id));
    }

    // One level per node when Pacemaker gave the agent a per-node plug; one level otherwise.
    std::vector<std::string> target_notes;
    struct Level {
        std::vector<std::string> nodes;  // empty = both
        std::string plug, why;
    };
    std::vector<Level> levels;
    std::vector<std::string> covered;
    if (has_map || (!own_port && host_arg != "none")) {
        for (const Target& t : targets(im, dev, target_notes)) {
            if (im.node_index(t.node) < 0) {
                target_notes.push_back(dev.id + " maps " + t.node + ", which is not one of the nodes; ignored");
                continue;
            }
            levels.push_back({{t.node}, t.port,
                              t.by_name ? "the node's name, as Pacemaker passed it" : "pcmk_host_map of " + dev.id});
            covered.push_back(t.node);
        }
    } else {
        std::vector<std::string> nodes;
        for (const auto& n : split_list(value_of(dev.params, "pcmk_host_list")))
            if (im.node_index(n) >= 0) nodes.push_back(n);
        levels.push_back({nodes, "", ""});
        covered = nodes.empty() ? std::vector<std::string>{""} : nodes;
    }
    for (const auto& n : target_notes) out.comment(4, n);
    flush_notes(out, 4, dev.id, notes, false);
    for (const auto& [nodes, plug, why] : levels) {
        out.line(4, "- agent: " + scalar(dev.type) + "  # " + dev.id);
        if (!args.empty() || !plug.empty()) {
            out.line(6, "args:");
            for (const auto& [k, v] : args) out.key(8, k, scalar(v));
            if (!plug.empty()) out.key(8, host_arg, scalar(plug), why);
        }
        if (!nodes.empty()) {
            std::vector<std::string> quoted;
            for (const auto& n : nodes) quoted.push_back(scalar(n));
            out.key(6, "nodes", flow_list(quoted));
        }
    }
    return covered;
}

}  // namespace

void write_fencing(Import& im, YamlOut& out) {
    std::vector<const CibPrimitive*> vsphere;
    std::vector<const CibPrimitive*> levels;
    for (const auto& dev : im.cib.stonith) {
        bool same_vcenter = !vsphere.empty() &&
                            first_of(dev, {"ip", "ipaddr"}) == first_of(*vsphere[0], {"ip", "ipaddr"}) &&
                            first_of(dev, {"username", "login"}) == first_of(*vsphere[0], {"username", "login"});
        if (is_vsphere(dev) && (vsphere.empty() || same_vcenter))
            vsphere.push_back(&dev);
        else
            levels.push_back(&dev);
    }
    if (vsphere.empty() && levels.empty()) {
        out.comment(2, "The CIB has no fence device. veeam-had needs one: the vCenter that runs the nodes' VMs.");
        out.line(2, "vsphere:");
        out.key(4, "host", scalar(im.fill_in("vCenter's host name or address")));
        out.key(4, "username", scalar(im.fill_in("the vCenter user")));
        out.key(4, "password_file", std::string(kSecretsDir) + "/vcenter.pass");
        out.key(4, "ca_file", std::string(kSecretsDir) + "/vcenter-ca.pem");
        for (auto& node : im.nodes) {
            node.vm_uuid = im.fill_in(node.name + "'s VM BIOS UUID (veeam-hactl fence list)");
            node.vm_uuid_note = "no fence device in the CIB";
        }
        return;
    }
    if (!vsphere.empty()) write_vsphere(im, out, vsphere);
    std::vector<std::string> covered;  // by levels; "" = both nodes
    if (!levels.empty()) {
        if (!vsphere.empty())
            out.comment(2, "Tried after vSphere, in this order.");
        out.line(2, "levels:");
        for (const CibPrimitive* dev : levels)
            for (const auto& n : write_level(im, out, *dev)) covered.push_back(n);
    }
    for (const auto& t : im.cib.fencing_topology)
        out.comment(2, "fencing-topology " + t + ": veeam-had tries vsphere first, then the levels in the order above");
    // A node that nothing above fences would never be taken over from: say so where it shows.
    if (!vsphere.empty())
        for (auto& node : im.nodes)
            if (node.vm_uuid.empty() && std::find(covered.begin(), covered.end(), "") == covered.end() &&
                std::find(covered.begin(), covered.end(), node.name) == covered.end()) {
                node.vm_uuid = im.fill_in(node.name + "'s VM BIOS UUID (veeam-hactl fence list)");
                node.vm_uuid_note = "no fence device in the CIB maps this node to a VM";
            }
}

}  // namespace veeamha::migrate::detail

// SPDX-License-Identifier: GPL-2.0-or-later
// The group -> `resources` (in group order, with each member's operation timeouts) and `policy`
// (migration-threshold, failure-timeout, and failback from the location constraints against the
// group's stickiness).
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <arpa/inet.h>

#include "config/syntax.h"
#include "migrate/import_detail.h"
#include "migrate/pacemaker_values.h"

namespace veeamha::migrate::detail {

namespace {

using config::Duration;

// A meta attribute as Pacemaker resolves it for a member: its own, the group's, the defaults'.
std::string effective_meta(const Import& im, const CibPrimitive& p, const std::string& name) {
    if (has_name(p.meta, name)) return value_of(p.meta, name);
    if (has_name(im.cib.group.meta, name)) return value_of(im.cib.group.meta, name);
    return value_of(im.cib.rsc_defaults, name);
}

// "24" or "255.255.255.0" -> 24.
std::optional<int> prefix_of(const std::string& netmask) {
    if (!netmask.empty() && netmask.size() <= 3 &&
        std::all_of(netmask.begin(), netmask.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return std::stoi(netmask);
    in_addr a{};
    if (inet_pton(AF_INET, netmask.c_str(), &a) != 1) return std::nullopt;
    uint32_t m = ntohl(a.s_addr);
    int bits = 0;
    while (bits < 32 && (m & (0x80000000u >> bits))) ++bits;
    if (bits < 32 && (m << bits) != 0) return std::nullopt;  // not contiguous
    return bits;
}

// One resource being written: the kind's mapping, the common keys, and notes for the rest.
struct ResourceDraft {
    std::string kind;                                        // lvm, filesystem, ip, service; "" = not mapped
    std::vector<std::pair<std::string, std::string>> spec;  // the kind's keys, values already YAML
    std::vector<std::pair<std::string, std::string>> timings;
    std::vector<std::string> notes;
    std::string why_not;  // when kind is ""
};

// Attributes a kind consumes; the rest become one note.
void note_rest(ResourceDraft& r, const CibPrimitive& p, const std::set<std::string>& used) {
    NvPairs rest;
    for (const auto& kv : p.params)
        if (!used.count(kv.first)) rest.push_back(kv);
    if (!rest.empty()) r.notes.push_back("not migrated, no equivalent: " + describe_params(rest));
}

void map_lvm(Import&, const CibPrimitive& p, ResourceDraft& r) {
    const bool old_agent = p.type == "LVM";
    const std::string vg = value_of(p.params, old_agent ? "volgrpname" : "vgname");
    if (vg.empty()) {
        r.why_not = std::string("it has no ") + (old_agent ? "volgrpname" : "vgname");
        return;
    }
    r.kind = "lvm";
    r.spec.push_back({"vg", scalar(vg)});
    std::set<std::string> used = {"volgrpname", "vgname", "exclusive", "vg_access_mode", "partial_activation"};
    if (old_agent) {
        // HA-LVM as the article set it up: exclusive activation by host tags and volume_list.
        if (parse_pcmk_bool(value_of(p.params, "exclusive")) == true) {
            r.spec.push_back({"mode", "tag"});
            r.notes.push_back("exclusive=true: HA-LVM by host tags and lvm.conf's volume_list, kept as `mode: tag`; "
                              "LVM system IDs (mode: system_id) need no volume_list or initramfs: README, Resources");
        } else {
            r.spec.push_back({"mode", "tag"});
            r.notes.push_back("exclusive was not set: Pacemaker activated the VG without any ownership mark; "
                              "veeam-had always activates exclusively (tag mode here; system_id is recommended)");
        }
    } else {
        const std::string mode = value_of(p.params, "vg_access_mode");
        if (mode == "tagging") {
            r.spec.push_back({"mode", "tag"});
        } else if (mode == "system_id" || mode.empty()) {
            r.spec.push_back({"mode", "system_id"});
        } else {
            r.spec.push_back({"mode", "system_id"});
            r.notes.push_back("vg_access_mode=" + mode + ": a shared VG under " + mode +
                              " locking; veeam-had activates it on one node by system ID: convert it first "
                              "(vgchange --locktype none " + vg + ")");
        }
        if (!value_of(p.params, "lvname").empty())
            r.notes.push_back("lvname=" + value_of(p.params, "lvname") + ": veeam-had activates the whole VG");
    }
    if (parse_pcmk_bool(value_of(p.params, "partial_activation")) == true) r.spec.push_back({"partial", "allow"});
    note_rest(r, p, used);
}

void map_filesystem(Import& im, const CibPrimitive& p, ResourceDraft& r) {
    std::string device = value_of(p.params, "device");
    const std::string directory = value_of(p.params, "directory");
    if (device.empty() || directory.empty()) {
        r.why_not = "it has no device or no directory";
        return;
    }
    // The agent also takes "-U UUID" and "-L LABEL"; udev's links name the same device.
    if (device.rfind("-U", 0) == 0) device = "/dev/disk/by-uuid/" + device.substr(device.find_first_not_of(" ", 2));
    else if (device.rfind("-L", 0) == 0) device = "/dev/disk/by-label/" + device.substr(device.find_first_not_of(" ", 2));
    else if (device.rfind("UUID=", 0) == 0) device = "/dev/disk/by-uuid/" + device.substr(5);
    else if (device.rfind("LABEL=", 0) == 0) device = "/dev/disk/by-label/" + device.substr(6);
    r.kind = "filesystem";
    r.spec.push_back({"device", scalar(device)});
    std::string why;
    auto mountpoint = config::detail::normalize_mountpoint(directory, why);
    r.spec.push_back({"mountpoint", scalar(mountpoint ? *mountpoint : directory)});
    const std::string fstype = value_of(p.params, "fstype");
    if (fstype.empty())
        r.spec.push_back({"fstype", scalar(im.fill_in("the filesystem type (the agent guessed it)"))});
    else
        r.spec.push_back({"fstype", scalar(fstype)});
    if (!value_of(p.params, "options").empty()) r.spec.push_back({"options", scalar(value_of(p.params, "options"))});
    for (const auto& op : p.ops)
        if (op.name == "monitor" && op.check_level == "20") {
            r.spec.push_back({"deep_check", "true"});
            r.notes.push_back("OCF_CHECK_LEVEL=20 on the monitor: a write test, as deep_check does");
            break;
        }
    const std::string force = value_of(p.params, "force_unmount");
    if (!force.empty() && parse_pcmk_bool(force) != true)
        r.notes.push_back("force_unmount=" + force + ": veeam-had always stops the processes that hold the mount "
                          "(force_unmount: kill)");
    note_rest(r, p, {"device", "directory", "fstype", "options", "force_unmount"});
}

void map_ip(Import& im, const CibPrimitive& p, ResourceDraft& r) {
    const std::string ip = value_of(p.params, "ip");
    if (ip.empty()) {
        r.why_not = "it has no ip";
        return;
    }
    r.kind = "ip";
    auto prefix = prefix_of(value_of(p.params, "cidr_netmask"));
    if (prefix)
        r.spec.push_back({"address", scalar(ip + "/" + std::to_string(*prefix))});
    else
        r.spec.push_back({"address", scalar(im.fill_in(ip + "/PREFIX (cidr_netmask was not set: IPaddr2 took it "
                                                          "from the routes)"))});
    const std::string nic = value_of(p.params, "nic");
    r.spec.push_back({"interface", scalar(nic.empty() ? im.fill_in("the interface (nic was not set: IPaddr2 took it "
                                                                   "from the routes)")
                                                      : nic)});
    if (!value_of(p.params, "iflabel").empty() && !nic.empty())
        r.spec.push_back({"label", scalar(nic + ":" + value_of(p.params, "iflabel"))});
    if (auto n = parse_score(value_of(p.params, "arp_count")))
        r.spec.push_back({"garp_count", std::to_string(std::clamp<int64_t>(*n, 0, 100))});
    if (auto ms = parse_score(value_of(p.params, "arp_interval")))
        r.spec.push_back({"garp_interval", duration(Duration(std::clamp<int64_t>(*ms, 10, 10000)))});
    note_rest(r, p, {"ip", "cidr_netmask", "nic", "iflabel", "arp_count", "arp_interval"});
}

void map_service(Import&, const CibPrimitive& p, ResourceDraft& r) {
    std::string why;
    auto unit = config::detail::normalize_unit(p.type, why);
    if (!unit) {
        r.why_not = "'" + p.type + "' is not a systemd unit name: " + why;
        return;
    }
    r.kind = "service";
    r.spec.push_back({"unit", scalar(*unit)});
    if (p.cls != "systemd")
        r.notes.push_back(p.agent() + ": started through systemd, which runs init scripts as units too");
    r.notes.push_back("disable the unit on both nodes (systemctl disable --now " + *unit + "): veeam-had starts it");
    note_rest(r, p, {});
}

// start/stop/monitor -> the resource's timings, in veeam-had's ranges (1s-24h).
void map_ops(Import& im, const CibPrimitive& p, ResourceDraft& r) {
    const std::string default_timeout = value_of(im.cib.op_defaults, "timeout");
    auto put = [&](const std::string& key, const std::string& text, const std::string& what) {
        auto d = parse_pcmk_duration(text);
        if (!d) {
            r.notes.push_back(what + "=" + text + ": not a duration this tool reads; " + key + " keeps its default");
            return;
        }
        Duration v = std::clamp<Duration>(*d, Duration(1000), Duration(24 * 3600 * 1000));
        if (v != *d) r.notes.push_back(what + "=" + text + " is outside veeam-had's range (1s-24h): " + duration(v));
        r.timings.push_back({key, duration(v)});
    };
    bool monitor = false;
    std::vector<std::string> other;
    for (const auto& op : p.ops) {
        const std::string what = "op " + op.name;
        if (parse_pcmk_bool(op.enabled) == false) {
            r.notes.push_back(what + " is disabled in the CIB; veeam-had always runs it");
            continue;
        }
        const std::string timeout = op.timeout.empty() ? default_timeout : op.timeout;
        if (op.name == "start" || op.name == "stop") {
            if (!timeout.empty()) put(op.name + "_timeout", timeout, what + " timeout");
        } else if (op.name == "monitor") {
            auto interval = parse_pcmk_duration(op.interval);
            if (!op.role.empty() || (interval && interval->count() == 0)) {
                other.push_back("monitor" + (op.role.empty() ? std::string(" interval=0") : " role=" + op.role));
                continue;
            }
            if (monitor) {
                other.push_back("monitor interval=" + op.interval);
                continue;
            }
            monitor = true;
            put("monitor_interval", op.interval, "op monitor interval");
            if (!timeout.empty()) put("monitor_timeout", timeout, "op monitor timeout");
        } else {
            other.push_back(op.name);
        }
    }
    // Without its own op, an operation gets op_defaults' timeout in Pacemaker too.
    for (const char* name : {"start", "stop"}) {
        bool given = false;
        for (const auto& op : p.ops) given = given || op.name == name;
        if (!given && !default_timeout.empty()) put(std::string(name) + "_timeout", default_timeout, "op_defaults timeout");
    }
    if (!monitor)
        r.notes.push_back("no monitor operation in the CIB; veeam-had checks every resource (every 10s by default)");
    if (!other.empty()) {
        std::string list;
        for (const auto& o : other) list += (list.empty() ? "" : ", ") + o;
        r.notes.push_back("operations with no equivalent: " + list);
    }
    for (const char* name : {"migration-threshold", "failure-timeout", "resource-stickiness", "target-role", "is-managed"})
        if (has_name(p.meta, name))
            r.notes.push_back(std::string(name) + "=" + value_of(p.meta, name) + " on this resource: veeam-had's policy "
                              "is one for the whole group (see policy)");
}

ResourceDraft map_resource(Import& im, const CibPrimitive& p) {
    ResourceDraft r;
    const std::string agent = p.agent();
    if (agent == "ocf:heartbeat:LVM" || agent == "ocf:heartbeat:LVM-activate")
        map_lvm(im, p, r);
    else if (agent == "ocf:heartbeat:Filesystem")
        map_filesystem(im, p, r);
    else if (agent == "ocf:heartbeat:IPaddr2")
        map_ip(im, p, r);
    else if (p.cls == "systemd" || p.cls == "service" || p.cls == "lsb")
        map_service(im, p, r);
    else
        r.why_not = agent + " has no equivalent resource kind (an `exec` resource with its own start, stop and "
                            "monitor commands can take its place)";
    if (!r.kind.empty()) map_ops(im, p, r);
    for (const auto& s : p.skipped_sets) r.notes.push_back(s + ": not read");
    return r;
}

}  // namespace

void write_resources(Import& im, YamlOut& out) {
    out.comment(0, "The group " + im.cib.group.id + ", in its order: started top to bottom, stopped bottom to top.");
    out.line(0, "resources:");
    for (const CibPrimitive& p : im.cib.group.members) {
        ResourceDraft r = map_resource(im, p);
        if (r.kind.empty()) {
            out.comment(2, "Not migrated: " + p.where + " (" + p.agent() + "): " + r.why_not + ". Its attributes: " +
                               describe_params(p.params));
            continue;
        }
        out.comment(2, p.id + " (" + p.agent() + ")" + (r.notes.empty() ? "" : ":"));
        for (const auto& n : r.notes) out.comment(2, "- " + n);
        out.line(2, "- name: " + scalar(p.id));
        out.line(4, r.kind + ":");
        for (const auto& [k, v] : r.spec) out.key(6, k, v);
        for (const auto& [k, v] : r.timings) out.key(4, k, v);
    }
    for (const CibOther& o : im.cib.others) {
        bool ping = false;
        for (const auto& p : o.primitives)
            if (p.agent() == "ocf:pacemaker:ping") ping = true;
        if (ping) continue;  // policy.ping_targets
        std::string inner;
        for (const auto& p : o.primitives) inner += (inner.empty() ? "" : ", ") + p.id + " (" + p.agent() + ")";
        if (o.kind == "primitive")
            inner = " (" + o.primitives[0].agent() + ")";
        else if (!inner.empty())
            inner = " of " + inner;
        out.comment(0, "Not migrated: " + o.kind + " '" + o.id + "'" + inner + ": " +
                           (o.kind == "primitive" ? "outside the group " + im.cib.group.id + "; veeam-had runs one group"
                                                  : "veeam-had runs neither clones, promotable resources nor bundles"));
    }
}

void write_policy(Import& im, YamlOut& out) {
    const CibGroup& g = im.cib.group;
    out.line(0, "policy:");

    // Failback: Pacemaker moves the group back when a node's location score beats the current
    // node's by more than the group's stickiness (the sum of its members').
    std::map<std::string, int64_t> score;  // node -> sum of scores for the group or a member
    std::set<std::string> members = {g.id};
    for (const auto& p : g.members) members.insert(p.id);
    std::vector<std::string> loc_notes;
    std::string from;
    for (const auto& l : im.cib.locations) {
        if (!members.count(l.rsc)) {
            loc_notes.push_back("location " + l.id + " (" + l.rsc + "): not about the group; not needed");
            continue;
        }
        if (l.id.rfind("cli-", 0) == 0) {
            loc_notes.push_back("location " + l.id + ": left by pcs resource move/ban; dropped (veeam-hactl move)");
            continue;
        }
        if (l.has_rule || l.node.empty()) {
            loc_notes.push_back("location " + l.id + ": a rule, not migrated");
            continue;
        }
        auto s = parse_score(l.score);
        if (!s) {
            loc_notes.push_back("location " + l.id + ": score '" + l.score + "' is not a score; ignored");
            continue;
        }
        if (*s < 0)
            loc_notes.push_back("location " + l.id + " keeps the group off " + l.node +
                                ": veeam-had cannot, a two-node cluster needs both; counted as a preference");
        score[l.node] = std::clamp<int64_t>(score[l.node] + *s, -kScoreInfinity, kScoreInfinity);
        from += (from.empty() ? "" : ", ") + l.node + "=" + l.score;
    }
    int64_t stickiness = 0;
    for (const auto& p : g.members)
        if (auto s = parse_score(effective_meta(im, p, "resource-stickiness"))) stickiness += *s;
    stickiness = std::min(stickiness, kScoreInfinity);
    int64_t s0 = 0, s1 = 0;
    if (im.nodes.size() == 2) {
        for (const auto& [node, s] : score) {
            int i = im.node_index(node);
            if (i == 0) s0 = s;
            if (i == 1) s1 = s;
            if (i < 0) loc_notes.push_back("location for " + node + ": not one of the nodes; ignored");
        }
    }
    const int64_t diff = s0 > s1 ? s0 - s1 : s1 - s0;
    const bool failback = diff > stickiness;
    const std::string basis = "locations " + (from.empty() ? std::string("none") : from) + ", group stickiness " +
                              std::to_string(stickiness);
    if (diff > 0) {
        NodeDraft& preferred = im.nodes[s0 > s1 ? 0 : 1];
        preferred.priority = 200;
        preferred.priority_note = "preferred: the higher location score";
    }
    for (const auto& n : loc_notes) out.comment(2, n);
    out.key(2, "failback", failback ? "true" : "false",
            basis + (failback ? ": Pacemaker moved the group back" : ": the group stayed where it ran"));

    // One threshold and expiry for the whole group: the group's or the defaults' setting.
    auto group_meta = [&](const std::string& name) {
        return has_name(g.meta, name) ? value_of(g.meta, name) : value_of(im.cib.rsc_defaults, name);
    };
    const std::string threshold = group_meta("migration-threshold");
    if (threshold.empty()) {
        out.comment(2, "migration-threshold was not set: Pacemaker's INFINITY restarted a failed resource in place "
                       "forever; veeam-had's default (3) hands the group over after 3 failures");
    } else if (auto t = parse_score(threshold)) {
        int64_t v = (*t >= kScoreInfinity || *t <= 0) ? 0 : std::min<int64_t>(*t, 100);
        out.key(2, "migration_threshold", std::to_string(v),
                "migration-threshold=" + threshold + (v == 0 ? " (0: never hands over because of failures)" : ""));
    } else {
        out.comment(2, "migration-threshold=" + threshold + ": not a number; not migrated");
    }
    const std::string expiry = group_meta("failure-timeout");
    if (!expiry.empty()) {
        auto d = parse_pcmk_duration(expiry);
        if (!d) {
            out.comment(2, "failure-timeout=" + expiry + ": not a duration this tool reads; not migrated");
        } else {
            const Duration max = Duration(int64_t{30} * 24 * 3600 * 1000);
            Duration v = d->count() == 0 ? max : std::clamp<Duration>(*d, Duration(1000), max);
            out.key(2, "failure_timeout", duration(v),
                    "failure-timeout=" + expiry + (d->count() == 0 ? " (never expires): the longest veeam-had takes" : ""));
        }
    }

    // Ping targets: an ocf:pacemaker:ping clone's host_list says which hosts tell a node that it
    // is connected.
    std::vector<std::string> targets;
    for (const auto& o : im.cib.others)
        for (const auto& p : o.primitives)
            if (p.agent() == "ocf:pacemaker:ping")
                for (const auto& h : split_list(value_of(p.params, "host_list")))
                    if (auto ip = config::detail::parse_ip(h)) targets.push_back(ip->text);
    if (!targets.empty()) {
        out.key(2, "ping_targets", flow_list(targets), "host_list of the ocf:pacemaker:ping clone");
    } else {
        out.comment(2, "Strongly recommended, nothing in the CIB says it: hosts a node pings before it fences its "
                       "peer (the gateway, the backup server), e.g.");
        out.comment(2, "ping_targets: [192.168.22.1]");
    }
}

}  // namespace veeamha::migrate::detail

// SPDX-License-Identifier: GPL-2.0-or-later
// Rules that involve more than one value. Each rule runs only when the values it needs parsed
// cleanly, so one mistake gives one error, not a cascade.
#include <sys/socket.h>

#include <algorithm>
#include <map>

#include "config/sections.h"
#include "config/syntax.h"
#include "base/text.h"

namespace veeamha::config::detail {

namespace {

std::string at(const std::string& list, size_t i) { return list + "[" + std::to_string(i) + "]"; }

bool two_good_nodes(const Config& c, const Diagnostics& d) {
    return c.nodes.size() == 2 && !d.failed("nodes[0]") && !d.failed("nodes[1]");
}

void check_nodes(const Config& c, Diagnostics& d) {
    if (c.nodes.size() != 2) return;
    const Node &a = c.nodes[0], &b = c.nodes[1];
    if (!a.name.empty() && base::lower(a.name) == base::lower(b.name))
        d.error("nodes[1].name", "expected a name different from nodes[0].name, found " + b.name +
                                     " again");
    if (!d.failed("nodes[0].addresses") && !d.failed("nodes[1].addresses")) {
        if (!a.addresses.empty() && !b.addresses.empty() && a.addresses.size() != b.addresses.size())
            d.error("nodes[1].addresses",
                    "expected " + std::to_string(a.addresses.size()) +
                        (a.addresses.size() == 1 ? " address" : " addresses") +
                        " (one per link, as nodes[0] has), found " +
                        std::to_string(b.addresses.size()));
        for (size_t i = 0; i < std::min(a.addresses.size(), b.addresses.size()); ++i) {
            auto ia = parse_ip(a.addresses[i]), ib = parse_ip(b.addresses[i]);
            if (ia && ib && ia->family != ib->family)
                d.error(at("nodes[1].addresses", i),
                        std::string("expected an ") + (ia->family == AF_INET ? "IPv4" : "IPv6") +
                            " address like nodes[0].addresses[" + std::to_string(i) +
                            "] (both ends of a link use one family), found " + b.addresses[i]);
        }
    }
    // Every address once, across both nodes.
    std::map<std::string, std::string> seen;  // address -> key path
    for (size_t n = 0; n < 2; ++n) {
        const auto& list = c.nodes[n].addresses;
        if (d.failed(at("nodes", n) + ".addresses")) continue;
        for (size_t i = 0; i < list.size(); ++i) {
            std::string path = at(at("nodes", n) + ".addresses", i);
            auto [it, fresh] = seen.emplace(list[i], path);
            if (!fresh)
                d.error(path, "expected an address used only once, found " + list[i] +
                                  " again (also " + it->second + ")");
        }
    }
    if (!a.vm_uuid.empty() && a.vm_uuid == b.vm_uuid)
        d.error("nodes[1].vm_uuid",
                "expected a VM different from nodes[0].vm_uuid, found the same UUID");
}

void check_heartbeat(const Config& c, Diagnostics& d) {
    if (d.failed("heartbeat")) return;
    const auto& hb = c.heartbeat;
    if (hb.timeout >= 3 * hb.interval) return;
    if (d.present("heartbeat.timeout"))
        d.error("heartbeat.timeout", "expected at least 3 x heartbeat.interval (" +
                                         format_duration(3 * hb.interval) + "), found " +
                                         format_duration(hb.timeout));
    else
        d.error("heartbeat.interval", "expected at most a third of heartbeat.timeout (" +
                                          format_duration(hb.timeout) + ", the default), found " +
                                          format_duration(hb.interval));
}

void check_fencing(const Config& c, Diagnostics& d) {
    const auto& f = c.fencing;
    std::vector<std::string> names;
    for (const auto& n : c.nodes) names.push_back(n.name);
    const bool nodes_ok = two_good_nodes(c, d);
    for (size_t i = 0; i < f.levels.size(); ++i) {
        const auto& level = f.levels[i];
        for (size_t j = 0; j < level.nodes.size() && nodes_ok; ++j) {
            std::string path = at(at("fencing.levels", i) + ".nodes", j);
            if (std::find(names.begin(), names.end(), level.nodes[j]) == names.end())
                d.error(path, "expected one of the configured nodes (" + one_of(names) +
                                  "), found " + quote(level.nodes[j]));
            else if (std::find(level.nodes.begin(), level.nodes.begin() + j, level.nodes[j]) !=
                     level.nodes.begin() + j)
                d.error(path, "expected each node once, found " + level.nodes[j] + " again");
        }
    }
    if (f.vsphere && !d.failed("fencing.vsphere") && !d.failed("fencing.timeout") &&
        f.vsphere->call_timeout >= f.timeout) {
        d.error("fencing.vsphere.call_timeout",
                "expected less than fencing.timeout (" + format_duration(f.timeout) +
                    ", the whole fence), found " + format_duration(f.vsphere->call_timeout));
    }
    // Every node must be fenceable by something; otherwise its loss can never be resolved.
    if (!nodes_ok || d.failed("fencing") || (!f.vsphere && f.levels.empty())) return;
    for (size_t n = 0; n < 2; ++n) {
        const Node& node = c.nodes[n];
        bool covered = f.vsphere && !node.vm_uuid.empty();
        for (const auto& level : f.levels)
            if (level.nodes.empty() ||
                std::find(level.nodes.begin(), level.nodes.end(), node.name) != level.nodes.end())
                covered = true;
        if (covered) continue;
        if (f.vsphere)
            d.error(at("nodes", n), "expected a vm_uuid (fencing.vsphere finds the VM by it) or a "
                                    "fencing.levels entry for " + node.name + ", found neither");
        else
            d.error(at("nodes", n), "expected a fencing.levels entry that can fence " + node.name +
                                        " (its nodes list it, or it has no nodes), found none");
    }
}

struct Seen {
    std::string value;
    size_t index;
};

// Reports the second use of a value among resources; returns true if it was new.
bool once(std::vector<Seen>& seen, const std::string& value, size_t index, Diagnostics& d,
          const std::string& path, const std::string& what) {
    for (const auto& s : seen) {
        if (s.value == value) {
            d.error(path, "expected each " + what + " once, found " + value + " again (also " +
                              at("resources", s.index) + ")");
            return false;
        }
    }
    seen.push_back({value, index});
    return true;
}

// A bind's source must be a folder on a filesystem of the group that is mounted before it is
// bound and unmounted after it is unbound: at or under the mountpoint of a filesystem resource
// listed above it (the deepest one that contains it decides).
void check_bind_source(const std::string& source, size_t i, const std::vector<Seen>& filesystems,
                       bool all_filesystems_parsed, Diagnostics& d) {
    const std::string path = at("resources", i) + ".bind.source";
    const Seen* on = nullptr;
    for (const auto& fs : filesystems)
        if ((source == fs.value || path_inside(source, fs.value)) &&
            (!on || fs.value.size() > on->value.size()))
            on = &fs;
    if (!on) {
        if (!all_filesystems_parsed) return;  // the filesystem's own error says enough
        std::vector<std::string> mountpoints;
        for (const auto& fs : filesystems)
            if (fs.index < i) mountpoints.push_back(fs.value);
        d.error(path, "expected a folder on a filesystem of this group (at or under the mountpoint "
                      "of a filesystem resource above this one" +
                          (mountpoints.empty() ? std::string(", and there is none")
                                               : ": " + one_of(mountpoints)) +
                          "), found " + source + ", which would not move with the group");
    } else if (on->index > i) {
        d.error(path, "expected a folder on a filesystem mounted before it is bound, found " + source +
                          " on " + on->value + " of " + at("resources", on->index) +
                          ", which comes after this one; move that resource above this one");
    }
}

void check_resources(const Config& c, Diagnostics& d) {
    std::vector<Seen> names, vgs, devices, mounts, addresses, units, filesystems;
    std::map<std::string, size_t> vg_resource;
    bool all_filesystems_parsed = true;
    for (size_t i = 0; i < c.resources.size(); ++i) {
        const auto& r = c.resources[i];
        if (r.kind == ResourceKind::Lvm && !d.failed(at("resources", i) + ".lvm.vg")) {
            const auto& spec = std::get<LvmSpec>(r.spec);
            if (!spec.vg.empty()) vg_resource.emplace(spec.vg, i);
        }
        if (r.kind == ResourceKind::Filesystem) {
            const auto& spec = std::get<FilesystemSpec>(r.spec);
            if (spec.mountpoint.empty())
                all_filesystems_parsed = false;
            else
                filesystems.push_back({spec.mountpoint, i});
        }
    }
    if (d.failed("resources")) all_filesystems_parsed = false;
    // Filesystem mountpoints and bind targets: each used once, and none may hide an earlier one.
    auto new_mountpoint = [&](const std::string& mountpoint, size_t i, const std::string& path) {
        if (!once(mounts, mountpoint, i, d, path, "mountpoint")) return;
        for (const auto& earlier : mounts) {
            if (earlier.index < i && path_inside(earlier.value, mountpoint)) {
                d.error(path, "expected a mountpoint that does not cover an earlier one, found " +
                                  mountpoint + ", which would hide " + earlier.value +
                                  " mounted by " + at("resources", earlier.index) +
                                  "; list this resource before that one");
                break;
            }
        }
    };
    for (size_t i = 0; i < c.resources.size(); ++i) {
        const auto& r = c.resources[i];
        const std::string base = at("resources", i);
        if (!r.name.empty() && !d.failed(base + ".name")) {
            bool named = d.present(base + ".name");
            auto other = std::find_if(names.begin(), names.end(),
                                      [&](const Seen& s) { return s.value == r.name; });
            if (other != names.end())
                d.error(named ? base + ".name" : base,
                        std::string("expected a unique name, found ") +
                            (named ? "" : "the default name ") + r.name + " again (also " +
                            at("resources", other->index) + ")");
            else
                names.push_back({r.name, i});
        }
        if (r.kind == ResourceKind::Lvm) {
            const auto& spec = std::get<LvmSpec>(r.spec);
            if (!spec.vg.empty()) once(vgs, spec.vg, i, d, base + ".lvm.vg", "volume group");
        } else if (r.kind == ResourceKind::Filesystem) {
            const auto& spec = std::get<FilesystemSpec>(r.spec);
            if (!spec.device.empty()) {
                const std::string path = base + ".filesystem.device";
                once(devices, spec.device, i, d, path, "device");
                if (auto lv = lvm_device(spec.device)) {
                    auto it = vg_resource.find(lv->vg);
                    if (it != vg_resource.end() && it->second > i)
                        d.error(path, "expected volume group " + lv->vg +
                                          " to be activated before this filesystem, but its lvm "
                                          "resource " + at("resources", it->second) +
                                          " comes after it; move that resource above this one");
                    else if (it == vg_resource.end() && !d.failed("resources"))
                        d.warning(path, spec.device + " is on volume group " + lv->vg +
                                            ", which no lvm resource activates; if it is on the "
                                            "shared disk, add an lvm resource for it above this one");
                }
            }
            if (!spec.mountpoint.empty()) {
                const std::string path = base + ".filesystem.mountpoint";
                new_mountpoint(spec.mountpoint, i, path);
            }
        } else if (r.kind == ResourceKind::Bind) {
            const auto& spec = std::get<BindSpec>(r.spec);
            if (!spec.source.empty())
                check_bind_source(spec.source, i, filesystems, all_filesystems_parsed, d);
            if (!spec.target.empty()) {
                const std::string path = base + ".bind.target";
                const std::string& src = spec.source;
                if (!src.empty() && (spec.target == src || path_inside(spec.target, src) ||
                                     path_inside(src, spec.target)))
                    d.error(path, "expected a target apart from the source (neither inside the "
                                  "other), found " + spec.target + " and source " + src);
                else
                    new_mountpoint(spec.target, i, path);
            }
        } else if (r.kind == ResourceKind::Ip) {
            const auto& spec = std::get<IpSpec>(r.spec);
            if (!spec.address.address.empty())
                once(addresses, spec.address.address, i, d, base + ".ip.address", "address");
        } else if (r.kind == ResourceKind::Service) {
            const auto& spec = std::get<ServiceSpec>(r.spec);
            if (!spec.unit.empty()) once(units, spec.unit, i, d, base + ".service.unit", "unit");
        }
    }
}

// Floating addresses, node addresses and ping targets must not overlap: a heartbeat on the
// floating address would follow the group, and pinging the peer or the floating address cannot
// tell a node that it is the isolated one (rule 4b).
void check_address_roles(const Config& c, Diagnostics& d) {
    std::map<std::string, std::string> node_address;  // address -> path
    for (size_t n = 0; n < c.nodes.size(); ++n)
        for (size_t i = 0; i < c.nodes[n].addresses.size(); ++i)
            node_address.emplace(c.nodes[n].addresses[i], at(at("nodes", n) + ".addresses", i));
    std::map<std::string, std::string> floating;
    for (size_t i = 0; i < c.resources.size(); ++i) {
        const auto& r = c.resources[i];
        if (r.kind != ResourceKind::Ip) continue;
        const auto& address = std::get<IpSpec>(r.spec).address.address;
        if (address.empty()) continue;
        floating.emplace(address, at("resources", i));
        auto it = node_address.find(address);
        if (it != node_address.end())
            d.error(at("resources", i) + ".ip.address",
                    "expected an address that no node uses for heartbeats, found " + address +
                        " (" + it->second + ")");
    }
    const auto& targets = c.policy.ping_targets;
    if (!d.failed("policy.ping_targets")) {
        for (size_t i = 0; i < targets.size(); ++i) {
            std::string path = at("policy.ping_targets", i);
            auto n = node_address.find(targets[i]);
            auto f = floating.find(targets[i]);
            if (n != node_address.end())
                d.error(path, "expected a third host such as the gateway, found the address in " +
                                  n->second + " (pinging a node cannot tell whether this node is "
                                  "cut off)");
            else if (f != floating.end())
                d.error(path, "expected a third host such as the gateway, found the floating "
                              "address of " + f->second + " (it moves with the group)");
        }
    }
    const auto& http = c.cluster.http_listen;
    if (http && http->port == c.heartbeat.port) {
        auto ip = parse_ip(http->host);
        if ((ip && is_unspecified(*ip)) || node_address.count(http->host))
            d.error("cluster.http_listen",
                    "expected a port other than heartbeat.port (" + std::to_string(c.heartbeat.port) +
                        ") on this address, found " + std::to_string(http->port));
    }
}

}  // namespace

void validate(const Config& config, Diagnostics& diag) {
    check_nodes(config, diag);
    check_heartbeat(config, diag);
    check_fencing(config, diag);
    check_resources(config, diag);
    check_address_roles(config, diag);
}

void add_warnings(const Config& c, Diagnostics& d) {
    const auto& p = c.policy;
    if (!p.startup_fencing)
        d.warning("policy.startup_fencing",
                  "false lets a node that cannot see its peer start the group alone at boot; if "
                  "the peer is running it, both mount the filesystems and the backups are "
                  "destroyed");
    if (p.failback)
        d.warning("policy.failback",
                  "true moves the group back to the preferred node as soon as it returns, which "
                  "interrupts running backup and restore jobs");
    if (p.ping_targets.empty() && !d.failed("policy.ping_targets"))
        d.warning("policy.ping_targets",
                  "none given, so rule 4b cannot protect you: a node that is cut off from the "
                  "network will fence a healthy peer; add the gateway or the backup server");
    if (c.fencing.vsphere && c.fencing.vsphere->insecure)
        d.warning("fencing.vsphere.insecure",
                  "true skips the check of vCenter's certificate: anyone in the path could fake "
                  "a successful fence; give ca_file or thumbprint instead");
    if (two_good_nodes(c, d) && c.nodes[0].addresses.size() == 1 &&
        c.nodes[1].addresses.size() == 1)
        d.warning("nodes[0].addresses",
                  "only one link: a single network fault makes the nodes lose each other and "
                  "fence; give each node a second address on another network");
    for (size_t n = 0; n < c.nodes.size(); ++n)
        if (!c.nodes[n].vm_uuid.empty() && !c.fencing.vsphere && !d.failed("fencing"))
            d.warning(at("nodes", n) + ".vm_uuid", "is not used: fencing.vsphere is not configured");
    if (const auto& http = c.cluster.http_listen) {
        auto ip = parse_ip(http->host);
        if (ip && !is_loopback(*ip))
            d.warning("cluster.http_listen",
                      "serves status and metrics without authentication on a non-loopback "
                      "address; prefer 127.0.0.1");
    }
}

}  // namespace veeamha::config::detail

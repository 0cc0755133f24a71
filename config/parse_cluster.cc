// SPDX-License-Identifier: GPL-2.0-or-later
// The top level, cluster, nodes and heartbeat sections.
#include <sys/un.h>

#include "config/schema.h"
#include "config/sections.h"
#include "config/syntax.h"

namespace veeamha::config::detail {

bool parse_root(const Value& root, Config& config) {
    Mapping m(root, "");
    if (!m.ok()) return false;
    if (auto v = m.require("cluster", "a cluster section with at least cluster.name"))
        parse_cluster(*v, config.cluster);
    if (auto v = m.require("nodes", "the list of the two nodes")) parse_nodes(*v, config.nodes);
    if (auto v = m.get("heartbeat")) parse_heartbeat(*v, config.heartbeat);
    if (auto v = m.require("fencing", "a fencing section (fencing.vsphere or fencing.levels)"))
        parse_fencing(*v, config.fencing);
    if (auto v = m.get("policy")) parse_policy(*v, config.policy);
    if (auto v = m.require("resources", "the list of resources, in start order"))
        parse_resources(*v, config.resources);
    if (auto v = m.get("alerts")) parse_alerts(*v, config.alerts);
    if (auto v = m.get("sync")) parse_sync(*v, config.sync);
    if (auto v = m.get("peer_check")) parse_peer_check(*v, config.peer_check);
    return true;
}

void parse_cluster(const Value& v, ClusterSection& out) {
    Mapping m(v, "cluster");
    if (!m.ok()) return;
    if (auto x = m.require("name", "the cluster's name, the same on both nodes")) {
        std::string name;
        if (read_string(*x, name, "the cluster's name")) {
            if (valid_object_name(name))
                out.name = name;
            else
                x->expected("a name of letters, digits, '_', '-' or '.' (at most 64)");
        }
    }
    if (auto x = m.get("key_file"))
        read_path(*x, out.key_file, "an absolute path to the cluster key");
    if (auto x = m.get("state_dir"))
        read_path(*x, out.state_dir, "an absolute path to a directory");
    if (auto x = m.get("admin_socket")) {
        std::string path;
        if (read_path(*x, path, "an absolute path for the admin socket")) {
            if (path.size() >= sizeof(sockaddr_un::sun_path))
                x->expected("a socket path of at most " +
                            std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
            else
                out.admin_socket = path;
        }
    }
    if (auto x = m.get("http_listen")) {
        std::string text;
        const char* what = "a literal address and port, e.g. 127.0.0.1:9668 or [::1]:9668";
        if (read_string(*x, text, what)) {
            if (auto endpoint = parse_endpoint(text))
                out.http_listen = *endpoint;
            else
                x->expected(what);
        }
    }
}

namespace {

void parse_node(const Value& v, Node& node) {
    node.where = v.where();
    Mapping m(v, "nodes[]");
    if (!m.ok()) return;
    if (auto x = m.require("name", "the node's host name")) {
        std::string name;
        if (read_string(*x, name, "the node's host name")) {
            if (valid_host_name(name))
                node.name = name;
            else
                x->expected("a host name (letters, digits, '-' and '.')");
        }
    }
    if (auto x = m.require("addresses", "the node's address on each link, e.g. [192.168.22.201]")) {
        const char* what = "a list of addresses, one per link, e.g. [192.168.22.201, 10.10.10.1]";
        if (auto items = x->items(what, 8)) {
            if (items->empty()) x->expected(what);
            for (const auto& item : *items) {
                std::string text;
                const char* addr = "an IPv4 or IPv6 address";
                if (!read_string(item, text, addr)) continue;
                auto ip = parse_ip(text);
                if (!ip)
                    item.expected(addr);
                else if (is_unspecified(*ip) || is_multicast(*ip))
                    item.expected("a unicast address of this node");
                else
                    node.addresses.push_back(ip->text);
            }
        }
    }
    if (auto x = m.get("vm_uuid")) {
        std::string text;
        const char* what =
            "a UUID like 42356049-6020-2ea0-0bd9-11362ef785e7 (veeam-hactl fence list shows them)";
        if (read_string(*x, text, what)) {
            if (auto uuid = normalize_uuid(text))
                node.vm_uuid = *uuid;
            else
                x->expected(what);
        }
    }
    if (auto x = m.get("priority")) read_int(*x, 0, 1000000, node.priority);
}

}  // namespace

void parse_nodes(const Value& v, std::vector<Node>& out) {
    auto items = v.items("a list of the two nodes", 16);
    if (!items) return;
    if (items->size() != 2) {
        v.error("expected exactly two nodes, found " +
                (items->empty() ? std::string("none") : std::to_string(items->size())));
    }
    for (const auto& item : *items) {
        Node node;
        parse_node(item, node);
        out.push_back(std::move(node));
    }
}

void parse_heartbeat(const Value& v, HeartbeatSection& out) {
    Mapping m(v, "heartbeat");
    if (!m.ok()) return;
    if (auto x = m.get("port")) read_port(*x, out.port);
    if (auto x = m.get("interval")) read_duration(*x, 10ms, 10000ms, out.interval);
    if (auto x = m.get("timeout")) read_duration(*x, 30ms, 300000ms, out.timeout);
}

}  // namespace veeamha::config::detail

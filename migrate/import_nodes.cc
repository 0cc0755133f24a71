// SPDX-License-Identifier: GPL-2.0-or-later
// The two nodes: names and link addresses from corosync.conf's nodelist when it is given (ringN_addr
// is link N); otherwise the names the CIB uses and placeholders for the addresses.
#include "config/syntax.h"
#include "migrate/import_detail.h"
#include "migrate/input_error.h"
#include "migrate/pacemaker_values.h"

namespace veeamha::migrate::detail {

namespace {

void add_unique(std::vector<std::string>& names, const std::string& name) {
    if (name.empty()) return;
    for (const auto& n : names)
        if (lower(n) == lower(name)) return;
    names.push_back(name);
}

void from_corosync(Import& im) {
    const CorosyncConf& c = *im.corosync;
    if (c.nodes.size() != 2)
        throw InputError(c.file + ": nodelist: expected two nodes (veeam-had is a two-node cluster), found " +
                         std::to_string(c.nodes.size()));
    for (size_t i = 0; i < c.nodes.size(); ++i) {
        const CorosyncNode& cn = c.nodes[i];
        NodeDraft node;
        node.name = cn.name;
        if (node.name.empty())
            for (const auto& cib_node : im.cib.nodes)
                if (!cn.nodeid.empty() && cib_node.id == cn.nodeid) node.name = cib_node.uname;
        if (node.name.empty() && !config::detail::parse_ip(cn.rings[0]) &&
            config::detail::valid_host_name(cn.rings[0]))
            node.name = cn.rings[0];  // corosync 2 setups name nodes by ring0_addr
        if (node.name.empty())
            node.name = im.fill_in("node " + std::to_string(i + 1) + "'s host name (uname -n)");
        for (size_t r = 0; r < cn.rings.size(); ++r) {
            const std::string& a = cn.rings[r];
            auto ip = config::detail::parse_ip(a);
            if (ip) {
                node.addresses.push_back(ip->text);
            } else if (a.empty()) {
                node.addresses.push_back(im.fill_in("the address on link " + std::to_string(r)));
                node.address_notes.push_back("ring" + std::to_string(r) + "_addr is missing in " + c.file);
            } else {
                node.addresses.push_back(im.fill_in("the address of " + a + " on link " + std::to_string(r)));
                node.address_notes.push_back("ring" + std::to_string(r) + "_addr is the host name " + a +
                                             "; veeam-had needs literal addresses (getent hosts " + a + ")");
            }
        }
        im.nodes.push_back(node);
    }
}

void from_cib(Import& im) {
    std::vector<std::string> names;
    for (const auto& n : im.cib.nodes) add_unique(names, n.uname);
    for (const auto& dev : im.cib.stonith) {
        for (const auto& [node, port] : parse_host_map(value_of(dev.params, "pcmk_host_map")).entries)
            add_unique(names, node);
        for (const auto& node : split_list(value_of(dev.params, "pcmk_host_list"))) add_unique(names, node);
    }
    for (const auto& l : im.cib.locations)
        if (l.id.rfind("cli-", 0) != 0) add_unique(names, l.node);
    if (names.size() > 2) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        throw InputError(im.cib.file + ": expected two nodes (veeam-had is a two-node cluster), found " +
                         std::to_string(names.size()) + " in <nodes>, pcmk_host_map/pcmk_host_list and location "
                         "constraints: " + list);
    }
    for (size_t i = 0; i < 2; ++i) {
        NodeDraft node;
        node.name = i < names.size() ? names[i]
                                     : im.fill_in("node " + std::to_string(i + 1) + "'s host name (uname -n)");
        for (int link = 0; link < 2; ++link)
            node.addresses.push_back(im.fill_in("the address on link " + std::to_string(link)));
        node.address_notes.push_back("no corosync.conf given (import-pcs --corosync FILE): one address per link, "
                                     "as ring0_addr and ring1_addr there; two links on separate networks");
        im.nodes.push_back(node);
    }
}

}  // namespace

void find_nodes(Import& im) {
    if (im.corosync)
        from_corosync(im);
    else
        from_cib(im);
}

void write_nodes(Import& im, YamlOut& out) {
    out.line(0, "nodes:");
    for (const NodeDraft& node : im.nodes) {
        out.line(2, "- name: " + scalar(node.name));
        for (const auto& note : node.address_notes) out.comment(4, note);
        std::vector<std::string> addresses;
        for (const auto& a : node.addresses) addresses.push_back(scalar(a));
        std::string rings;
        if (im.corosync)
            for (size_t r = 0; r < node.addresses.size(); ++r)
                rings += (r ? ", ring" : "ring") + std::to_string(r) + "_addr";
        out.key(4, "addresses", flow_list(addresses), im.corosync ? rings : "");
        if (!node.vm_uuid.empty()) out.key(4, "vm_uuid", scalar(node.vm_uuid), node.vm_uuid_note);
        else if (!node.vm_uuid_note.empty()) out.comment(4, node.vm_uuid_note);
        if (node.priority) out.key(4, "priority", std::to_string(node.priority), node.priority_note);
    }
}

}  // namespace veeamha::migrate::detail

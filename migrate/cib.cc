// SPDX-License-Identifier: GPL-2.0-or-later
// Element names and attributes follow Pacemaker's schemas (xml/resources-*.rng,
// constraints-*.rng, nvset-*.rng), which kept the same shape from 1.1's pacemaker-2.x to 2.x's
// pacemaker-3.x for everything read here.
#include "migrate/cib.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <sstream>

#include "migrate/input_error.h"

namespace veeamha::migrate {

namespace {

using boost::property_tree::ptree;

constexpr const char* kAttrs = "<xmlattr>";

bool is_element(const std::string& key) { return key.empty() || key[0] != '<'; }

std::string attr(const ptree& element, const std::string& name) {
    if (auto attrs = element.get_child_optional(kAttrs))
        if (auto v = attrs->get_optional<std::string>(name)) return *v;
    return "";
}

bool has_attr(const ptree& element, const std::string& name) {
    auto attrs = element.get_child_optional(kAttrs);
    return attrs && attrs->get_child_optional(name);
}

class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& where, const std::string& what) const {
        throw InputError(file_ + ": " + where + ": " + what);
    }

    // `element`'s attribute `name`, which must be there and not be empty.
    std::string required(const ptree& element, const std::string& where, const std::string& name,
                         const std::string& expected) const {
        std::string v = attr(element, name);
        if (v.empty())
            fail(where, "attribute '" + name + "' is " + (has_attr(element, name) ? "empty" : "missing") +
                            "; expected " + expected);
        return v;
    }

    // The name/value pairs of an instance_attributes, meta_attributes or cluster_property_set.
    // Sets with a rule apply only sometimes and sets by id-ref point elsewhere: both are
    // reported in `skipped` rather than guessed at.
    void read_set(const ptree& set, const std::string& kind, const std::string& owner, NvPairs& into,
                  std::vector<std::string>& skipped) const {
        const std::string id = attr(set, "id");
        const std::string where = owner + " " + kind + (id.empty() ? "" : " '" + id + "'");
        if (has_attr(set, "id-ref")) {
            skipped.push_back(where + " refers to '" + attr(set, "id-ref") + "' (id-ref)");
            return;
        }
        if (set.get_child_optional("rule")) {
            skipped.push_back(where + " applies only under a rule");
            return;
        }
        for (const auto& [key, child] : set) {
            if (key != "nvpair") continue;
            const std::string name = required(child, where + " nvpair", "name", "the attribute's name");
            into.emplace_back(name, attr(child, "value"));
        }
    }

    CibPrimitive primitive(const ptree& p, const std::string& context) const {
        CibPrimitive r;
        r.id = required(p, context + " <primitive>", "id", "the resource's name");
        r.where = "primitive '" + r.id + "'";
        const std::string where = context + " <primitive id=\"" + r.id + "\">";
        if (has_attr(p, "template")) {
            r.cls = "template";
            r.type = attr(p, "template");
            return r;
        }
        r.cls = required(p, where, "class", "the agent class (ocf, stonith, systemd, lsb, service)");
        r.type = required(p, where, "type", "the agent's name (LVM, Filesystem, IPaddr2, ...)");
        r.provider = attr(p, "provider");
        if (r.cls == "ocf" && r.provider.empty())
            fail(where, "attribute 'provider' is missing; expected the OCF provider (heartbeat) of class ocf");
        for (const auto& [key, child] : p) {
            if (key == "instance_attributes") read_set(child, key, r.where, r.params, r.skipped_sets);
            if (key == "meta_attributes") read_set(child, key, r.where, r.meta, r.skipped_sets);
            if (key != "operations") continue;
            for (const auto& [op_key, op] : child) {
                if (op_key != "op") continue;
                CibOp o;
                o.name = required(op, where + " <op>", "name", "the operation (start, stop, monitor)");
                o.interval = attr(op, "interval");
                o.timeout = attr(op, "timeout");
                o.role = attr(op, "role");
                o.enabled = attr(op, "enabled");
                NvPairs op_params;
                std::vector<std::string> ignored;
                for (const auto& [set_key, set] : op)
                    if (set_key == "instance_attributes") read_set(set, set_key, r.where, op_params, ignored);
                o.check_level = value_of(op_params, "OCF_CHECK_LEVEL");
                r.ops.push_back(o);
            }
        }
        return r;
    }

    void resources(const ptree& res, Cib& cib) const {
        const std::string where = "<resources>";
        std::vector<std::string> groups;
        for (const auto& [key, child] : res) {
            if (!is_element(key)) continue;
            if (key == "primitive") {
                CibPrimitive p = primitive(child, where);
                if (p.cls == "stonith")
                    cib.stonith.push_back(p);
                else
                    cib.others.push_back({"primitive", p.id, {p}});
            } else if (key == "group") {
                CibGroup g;
                g.id = required(child, where + " <group>", "id", "the group's name");
                groups.push_back(g.id);
                const std::string inside = where + " <group id=\"" + g.id + "\">";
                std::vector<std::string> skipped;
                for (const auto& [gkey, member] : child) {
                    if (gkey == "primitive") g.members.push_back(primitive(member, inside));
                    if (gkey == "meta_attributes") read_set(member, gkey, "group '" + g.id + "'", g.meta, skipped);
                }
                if (g.members.empty())
                    fail(inside, "expected at least one <primitive> in the group, found none");
                for (const auto& s : skipped) cib.skipped_sets.push_back(s);
                if (groups.size() == 1) cib.group = std::move(g);
            } else {
                // clone, master (1.1's promotable clone), bundle, template.
                CibOther o{key, attr(child, "id"), {}};
                for (const auto& [ckey, inner] : child) {
                    if (ckey == "primitive") o.primitives.push_back(primitive(inner, where + " <" + key + ">"));
                    if (ckey == "group")
                        for (const auto& [gkey, member] : inner)
                            if (gkey == "primitive") o.primitives.push_back(primitive(member, where + " <" + key + ">"));
                }
                cib.others.push_back(o);
            }
        }
        if (groups.empty())
            fail("<configuration> <resources>",
                 "expected one <group> (the resource group to migrate: `pcs resource create ... --group NAME`), "
                 "found none");
        if (groups.size() > 1) {
            std::string list;
            for (const auto& g : groups) list += (list.empty() ? "" : ", ") + g;
            fail("<configuration> <resources>",
                 "expected one <group>, found " + std::to_string(groups.size()) + " (" + list +
                     "); veeam-had runs one group: remove the others from a copy of the CIB "
                     "(pcs -f COPY resource delete GROUP) and import that");
        }
    }

    void constraints(const ptree& cons, Cib& cib) const {
        for (const auto& [key, c] : cons) {
            if (!is_element(key)) continue;
            const std::string id = attr(c, "id");
            if (key == "rsc_location") {
                CibLocation l;
                l.id = id;
                l.rsc = attr(c, "rsc");
                if (l.rsc.empty()) l.rsc = attr(c, "rsc-pattern");
                l.node = attr(c, "node");
                l.score = attr(c, "score");
                l.role = attr(c, "role");
                l.has_rule = c.get_child_optional("rule").has_value() || c.get_child_optional("resource_set").has_value();
                cib.locations.push_back(l);
                continue;
            }
            std::string summary;
            if (key == "rsc_colocation")
                summary = attr(c, "rsc") + " with " + attr(c, "with-rsc") + " (score " + attr(c, "score") + ")";
            else if (key == "rsc_order")
                summary = attr(c, "first") + " then " + attr(c, "then");
            else if (key == "rsc_ticket")
                summary = attr(c, "rsc") + " needs ticket " + attr(c, "ticket");
            if (c.get_child_optional("resource_set")) summary = "resource sets";
            cib.constraints.push_back({key, id, summary});
        }
    }

    Cib read(const std::string& text) const {
        ptree doc;
        std::istringstream in(text);
        try {
            boost::property_tree::read_xml(in, doc, boost::property_tree::xml_parser::no_comments);
        } catch (const boost::property_tree::xml_parser_error& e) {
            throw InputError(file_ + ":" + std::to_string(e.line()) + ": not XML: " + e.message() +
                             "; expected the CIB as `pcs cluster cib` or `cibadmin --query` prints it");
        }
        std::string root;
        for (const auto& [key, child] : doc)
            if (is_element(key)) root = key;
        Cib cib;
        cib.file = file_;
        const ptree* config = nullptr;
        if (root == "cib") {
            const ptree& c = doc.get_child("cib");
            cib.validate_with = attr(c, "validate-with");
            config = c.get_child_optional("configuration").get_ptr();
            if (!config)
                fail("<cib>", "element <configuration> is missing; expected the whole CIB (`pcs cluster cib`)");
        } else if (root == "configuration") {  // cibadmin --query --scope configuration
            config = &doc.get_child("configuration");
        } else {
            fail(root.empty() ? "the document" : "<" + root + ">",
                 "expected the root element <cib> (what `pcs cluster cib` or `cibadmin --query` prints), found " +
                     (root.empty() ? std::string("no element") : "<" + root + ">"));
        }
        auto res = config->get_child_optional("resources");
        if (!res) fail("<configuration>", "element <resources> is missing; expected the cluster's resources");
        resources(*res, cib);
        for (const auto& [key, child] : *config) {
            if (!is_element(key)) continue;
            if (key == "crm_config") {
                for (const auto& [skey, set] : child)
                    if (skey == "cluster_property_set")
                        read_set(set, skey, "<crm_config>", cib.properties, cib.skipped_sets);
            } else if (key == "rsc_defaults" || key == "op_defaults") {
                for (const auto& [skey, set] : child)
                    if (skey == "meta_attributes")
                        read_set(set, skey, "<" + key + ">", key == "rsc_defaults" ? cib.rsc_defaults : cib.op_defaults,
                                 cib.skipped_sets);
            } else if (key == "nodes") {
                for (const auto& [nkey, n] : child) {
                    if (nkey != "node") continue;
                    CibNode node{attr(n, "id"), required(n, "<nodes> <node id=\"" + attr(n, "id") + "\">", "uname",
                                                         "the node's name"), {}};
                    std::vector<std::string> skipped;
                    for (const auto& [skey, set] : n)
                        if (skey == "instance_attributes") read_set(set, skey, "node " + node.uname, node.attributes, skipped);
                    cib.nodes.push_back(node);
                }
            } else if (key == "constraints") {
                constraints(child, cib);
            } else if (key == "fencing-topology") {
                for (const auto& [lkey, l] : child)
                    if (lkey == "fencing-level")
                        cib.fencing_topology.push_back("level " + attr(l, "index") + " for " +
                                                       (attr(l, "target").empty() ? "a pattern" : attr(l, "target")) +
                                                       ": " + attr(l, "devices"));
            } else if (key != "resources") {
                if (!child.empty()) cib.other_sections.push_back(key);
            }
        }
        return cib;
    }

private:
    std::string file_;
};

}  // namespace

std::string value_of(const NvPairs& pairs, const std::string& name) {
    for (const auto& [k, v] : pairs)
        if (k == name) return v;
    return "";
}

bool has_name(const NvPairs& pairs, const std::string& name) {
    for (const auto& kv : pairs)
        if (kv.first == name) return true;
    return false;
}

std::string CibPrimitive::agent() const {
    if (cls == "ocf") return cls + ":" + provider + ":" + type;
    return cls + ":" + type;
}

Cib read_cib(const std::string& text, const std::string& file_name) {
    return Reader(file_name).read(text);
}

}  // namespace veeamha::migrate

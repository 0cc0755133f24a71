// SPDX-License-Identifier: GPL-2.0-or-later
// The parts of a Pacemaker CIB (what `pcs cluster cib` or `cibadmin --query` prints, Pacemaker
// 1.1 and 2.x) that a migration to veeam-had reads, as plain structs. Parsed with
// Boost.PropertyTree's XML parser; the live state (<status>) is ignored.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace veeamha::migrate {

using NvPairs = std::vector<std::pair<std::string, std::string>>;

// The value of `name` in `pairs`, or "" when it is not there.
std::string value_of(const NvPairs& pairs, const std::string& name);
bool has_name(const NvPairs& pairs, const std::string& name);

struct CibOp {
    std::string name;      // start, stop, monitor, ...
    std::string interval;  // as written, "" when absent
    std::string timeout;
    std::string role;      // monitors of a promotable clone's roles
    std::string enabled;   // "false" disables the operation
    std::string check_level;  // OCF_CHECK_LEVEL of a monitor (10, 20)
};

struct CibPrimitive {
    std::string id;
    std::string cls;       // ocf, stonith, systemd, lsb, service
    std::string provider;  // heartbeat, pacemaker (ocf only)
    std::string type;      // the agent: LVM, Filesystem, fence_vmware_soap, ...
    std::string where;     // "primitive 'id'" for messages
    NvPairs params;        // instance_attributes
    NvPairs meta;          // meta_attributes
    std::vector<CibOp> ops;
    // Attribute sets this reader does not resolve: with a rule, or by id-ref.
    std::vector<std::string> skipped_sets;
    std::string agent() const;  // "ocf:heartbeat:LVM", "systemd:veeamtransport", "stonith:fence_x"
};

struct CibGroup {
    std::string id;
    NvPairs meta;
    std::vector<CibPrimitive> members;
};

// A clone, promotable clone (master), bundle or template: veeam-had runs none of these.
struct CibOther {
    std::string kind;  // "clone", "master", "bundle", "template", "primitive" (outside the group)
    std::string id;
    std::vector<CibPrimitive> primitives;  // what it wraps, when it wraps primitives
};

struct CibLocation {
    std::string id;
    std::string rsc;
    std::string node;   // "" when the constraint uses a rule or rsc-pattern
    std::string score;
    std::string role;
    bool has_rule = false;
};

struct CibConstraint {
    std::string kind;  // rsc_colocation, rsc_order, rsc_ticket, ...
    std::string id;
    std::string summary;  // "vbr with fence_x (score INFINITY)"
};

struct CibNode {
    std::string id;
    std::string uname;
    NvPairs attributes;  // instance_attributes (standby, ...)
};

struct Cib {
    std::string file;
    std::string validate_with;  // pacemaker-2.10 (1.1), pacemaker-3.x (2.x)
    NvPairs properties;         // cluster_property_set(s), in order
    NvPairs rsc_defaults;
    NvPairs op_defaults;
    std::vector<std::string> skipped_sets;  // property/defaults sets with rules
    std::vector<CibNode> nodes;
    CibGroup group;
    std::vector<CibPrimitive> stonith;  // fence devices
    std::vector<CibOther> others;       // resources outside the group, clones, bundles
    std::vector<CibLocation> locations;
    std::vector<CibConstraint> constraints;  // every other constraint
    std::vector<std::string> fencing_topology;  // "level 1 for node1: fence_a,fence_b"
    std::vector<std::string> other_sections;    // alerts, acls, tags: not migrated
};

// Throws InputError naming the file, the element or attribute, and what was expected: not XML,
// not a CIB, no <configuration>, no group or more than one, a primitive without class or type.
Cib read_cib(const std::string& text, const std::string& file_name);

}  // namespace veeamha::migrate

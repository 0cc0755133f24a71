// SPDX-License-Identifier: GPL-2.0-or-later
// Shared by the parts of import_pcs: the output being written and what one part tells the next
// (the nodes, found first, get their VM UUIDs from the fencing part).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "migrate/cib.h"
#include "migrate/corosync_conf.h"
#include "migrate/import_pcs.h"

namespace veeamha::migrate::detail {

// YAML text with comments, written line by line. Scalars go through scalar(), which quotes
// what YAML would read as something else.
class YamlOut {
public:
    void line(int indent, const std::string& text);
    // "# text" at `indent`, wrapped at 100 columns.
    void comment(int indent, const std::string& text);
    // "key: value  # comment"
    void key(int indent, const std::string& key, const std::string& value, const std::string& why = "");
    const std::string& text() const { return text_; }

private:
    std::string text_;
};

std::string scalar(const std::string& value);
// "FILL IN: what": a value the configuration loader refuses wherever it stands (not a name, an
// address, a UUID or an interface), so that `veeam-hactl check` points at each one left.
std::string placeholder(const std::string& what);
// "[a, b]"
std::string flow_list(const std::vector<std::string>& values);
// Duration for the configuration: "30s", "1m30s".
std::string duration(config::Duration d);
// The attribute list of a primitive for a comment, passwords left out.
std::string describe_params(const NvPairs& params);
bool is_secret_name(const std::string& name);
// ASCII lower case: node names compare case-insensitively, as Pacemaker compares them.
std::string lower(std::string text);

// Values are plain text here; the writers quote them (scalar()).
struct NodeDraft {
    std::string name;  // or a placeholder
    std::vector<std::string> addresses;
    std::vector<std::string> address_notes;
    std::string vm_uuid;  // "" = none (the key is left out)
    std::string vm_uuid_note;
    int priority = 0;     // 0 = default (the key is left out)
    std::string priority_note;
};

struct Import {
    const Cib& cib;
    const CorosyncConf* corosync = nullptr;
    std::vector<NodeDraft> nodes;
    ImportResult result;
    // Top-of-file notes: Pacemaker settings with no equivalent.
    std::vector<std::string> not_migrated;

    int node_index(const std::string& name) const;  // case-insensitive, -1 if none
    std::string fill_in(const std::string& what) {
        ++result.placeholders;
        return placeholder(what);
    }
};

// import_nodes.cc: names and addresses, from corosync.conf or what the CIB names.
void find_nodes(Import& im);
void write_nodes(Import& im, YamlOut& out);
// import_fencing.cc: stonith devices -> fencing.vsphere (and the nodes' VM UUIDs) and levels.
void write_fencing(Import& im, YamlOut& out);
// import_resources.cc: the group -> resources and policy.
void write_policy(Import& im, YamlOut& out);
void write_resources(Import& im, YamlOut& out);

}  // namespace veeamha::migrate::detail

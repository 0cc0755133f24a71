// SPDX-License-Identifier: GPL-2.0-or-later
// import_pcs: the file's header, `cluster`, `heartbeat`, the cluster properties, and the order of
// the sections. The nodes, the fencing and the group have a file each (import_detail.h).
#include "migrate/import_pcs.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "config/syntax.h"
#include "migrate/import_detail.h"
#include "migrate/pacemaker_values.h"

namespace veeamha::migrate {

namespace detail {

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

void YamlOut::line(int indent, const std::string& text) {
    text_ += std::string(static_cast<size_t>(indent), ' ') + text + "\n";
}

void YamlOut::comment(int indent, const std::string& text) {
    const size_t width = 100 - static_cast<size_t>(indent) - 2;
    std::string rest = text;
    bool first = true;
    while (!rest.empty()) {
        std::string part = rest;
        if (part.size() > width) {
            size_t cut = rest.rfind(' ', width);
            if (cut == std::string::npos || cut == 0) cut = rest.find(' ', width);
            part = rest.substr(0, cut);
            rest = cut == std::string::npos ? "" : rest.substr(cut + 1);
        } else {
            rest.clear();
        }
        line(indent, std::string(first ? "# " : "#   ") + part);
        first = false;
    }
}

void YamlOut::key(int indent, const std::string& key, const std::string& value, const std::string& why) {
    std::string text = key + ": " + value;
    if (!why.empty()) {
        if (text.size() + static_cast<size_t>(indent) + why.size() + 4 <= 100) {
            line(indent, text + "  # " + why);
            return;
        }
        comment(indent, why);
    }
    line(indent, text);
}

std::string scalar(const std::string& value) {
    YAML::Emitter e;
    static const char* const ambiguous[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
    const std::string l = lower(value);
    if (std::find(std::begin(ambiguous), std::end(ambiguous), l) != std::end(ambiguous))
        e << YAML::DoubleQuoted << value;
    else
        e << value;
    return e.c_str();
}

std::string placeholder(const std::string& what) { return "FILL IN: " + what; }

std::string flow_list(const std::vector<std::string>& values) {
    std::string out = "[";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + values[i];
    return out + "]";
}

std::string duration(config::Duration d) { return config::format_duration(d); }

bool is_secret_name(const std::string& name) {
    const std::string l = lower(name);
    for (const char* part : {"pass", "secret", "token", "key", "community"})
        if (l.find(part) != std::string::npos) return true;
    return false;
}

std::string describe_params(const NvPairs& params) {
    std::string out;
    for (const auto& [k, v] : params)
        out += (out.empty() ? "" : " ") + k + "=" + (is_secret_name(k) ? "(not copied)" : v);
    return out.empty() ? "no attributes" : out;
}

int Import::node_index(const std::string& name) const {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (lower(nodes[i].name) == lower(name)) return static_cast<int>(i);
    return -1;
}

namespace {

// Cluster properties (crm_config) that map, and notes for the rest.
void read_properties(Import& im, config::FencingSection& fencing, bool& fencing_disabled) {
    std::vector<std::string> recorded;
    for (const auto& [name, value] : im.cib.properties) {
        if (name == "stonith-enabled") {
            fencing_disabled = parse_pcmk_bool(value) == false;
        } else if (name == "stonith-timeout") {
            if (auto d = parse_pcmk_duration(value))
                fencing.timeout = std::clamp<config::Duration>(*d, config::Duration(1000), config::Duration(3600000));
            else
                im.not_migrated.push_back("stonith-timeout=" + value + ": not a duration this tool reads");
        } else if (name == "stonith-action") {
            fencing.action = (value == "reboot") ? config::FenceAction::Reboot : config::FenceAction::Off;
        } else if (name == "cluster-name") {
            // used by write_cluster
        } else if (name == "no-quorum-policy") {
            im.not_migrated.push_back("no-quorum-policy=" + value +
                                      ": not needed; a two-node veeam-had cluster has no quorum, it decides by "
                                      "fencing and policy.ping_targets");
        } else if (name == "maintenance-mode") {
            if (parse_pcmk_bool(value) == true)
                im.not_migrated.push_back("maintenance-mode=true: the cluster is in maintenance; run "
                                          "`veeam-hactl maintenance on` once veeam-had runs, if it should stay so");
        } else if (name == "dc-version" || name == "cluster-infrastructure" || name == "have-watchdog" ||
                   name == "last-lrm-refresh" || name == "cluster-recheck-interval" || name == "dc-deadtime") {
            recorded.push_back(name);
        } else {
            im.not_migrated.push_back("property " + name + "=" + value + ": no equivalent in veeam-had");
        }
    }
    if (!recorded.empty()) {
        std::string list;
        for (const auto& r : recorded) list += (list.empty() ? "" : ", ") + r;
        im.not_migrated.push_back("properties " + list + ": Pacemaker's own bookkeeping, nothing to carry over");
    }
}

std::string cluster_name(Import& im, std::string& why) {
    std::string name;
    if (im.corosync && !im.corosync->cluster_name.empty()) {
        name = im.corosync->cluster_name;
        why = "totem.cluster_name in " + im.corosync->file;
    } else if (!value_of(im.cib.properties, "cluster-name").empty()) {
        name = value_of(im.cib.properties, "cluster-name");
        why = "the CIB's cluster-name property";
    } else {
        name = im.cib.group.id;
        why = "no cluster name in the input: the group's name; any name works, the same on both nodes";
    }
    if (!config::detail::valid_object_name(name)) {
        why = "'" + name + "' is not a valid cluster name (letters, digits, _ - .)";
        name = im.fill_in("the cluster's name");
    }
    return name;
}

void write_fencing_properties(Import& im, YamlOut& out, const config::FencingSection& f, bool disabled) {
    if (disabled)
        out.comment(2, "The CIB had stonith-enabled=false. veeam-had never takes over without a confirmed fence: "
                       "the fencers below are required.");
    if (value_of(im.cib.properties, "stonith-action").empty())
        out.key(2, "action", f.action == config::FenceAction::Off ? "off" : "reboot",
                "veeam-had's default; Pacemaker's stonith-action was not set (it defaults to reboot)");
    else
        out.key(2, "action", f.action == config::FenceAction::Off ? "off" : "reboot",
                "stonith-action=" + value_of(im.cib.properties, "stonith-action"));
    if (!value_of(im.cib.properties, "stonith-timeout").empty() &&
        parse_pcmk_duration(value_of(im.cib.properties, "stonith-timeout")))
        out.key(2, "timeout", duration(f.timeout), "stonith-timeout=" + value_of(im.cib.properties, "stonith-timeout"));
}

}  // namespace

}  // namespace detail

ImportResult import_pcs(const Cib& cib, const std::optional<CorosyncConf>& corosync) {
    using namespace detail;
    Import im{cib, corosync ? &*corosync : nullptr, {}, {}, {}};

    config::FencingSection fencing_props;
    bool fencing_disabled = false;
    read_properties(im, fencing_props, fencing_disabled);
    for (const auto& s : cib.skipped_sets) im.not_migrated.push_back(s + ": not read");
    for (const auto& c : cib.constraints)
        im.not_migrated.push_back(c.kind + " " + c.id + (c.summary.empty() ? "" : " (" + c.summary + ")") +
                                  (c.kind == "rsc_colocation" || c.kind == "rsc_order"
                                       ? ": not needed; veeam-had runs one group, its members together and in order"
                                       : ": no equivalent in veeam-had"));
    for (const auto& s : cib.other_sections)
        im.not_migrated.push_back("<" + s + ">: not migrated (alerts: see the `alerts` section; ACLs and tags have no equivalent)");
    if (corosync) {
        if (!corosync->token.empty())
            im.not_migrated.push_back("totem.token=" + corosync->token +
                                      " in " + corosync->file + ": veeam-had's heartbeat.timeout (1s by default) "
                                      "plays this role");
        for (const auto& n : corosync->notes) im.not_migrated.push_back(n + " (" + corosync->file + ")");
    }

    find_nodes(im);
    YamlOut fencing, resources, policy;
    write_fencing(im, fencing);
    write_resources(im, resources);
    write_policy(im, policy);

    YamlOut out;
    out.comment(0, "/etc/veeam-ha.yaml, written by `veeam-hactl import-pcs` from " + cib.file +
                       (cib.validate_with.empty() ? "" : " (" + cib.validate_with + ")") +
                       (corosync ? " and " + corosync->file : "") + ".");
    out.comment(0, "Review it, replace every FILL IN, then check it: veeam-hactl check FILE. "
                   "The same file goes on both nodes.");
    if (!im.not_migrated.empty()) {
        out.line(0, "#");
        out.comment(0, "Not migrated:");
        for (const auto& n : im.not_migrated) out.comment(0, "- " + n);
    }
    out.line(0, "");
    out.line(0, "cluster:");
    std::string why;
    std::string name = cluster_name(im, why);
    out.key(2, "name", scalar(name), why);
    out.comment(2, "key_file: /etc/veeam-ha/authkey (the default): make it with `veeam-hactl keygen` on one node "
                   "and copy it to the other with scp -p");
    out.line(0, "");
    write_nodes(im, out);
    out.line(0, "");
    out.line(0, "fencing:");
    write_fencing_properties(im, out, fencing_props, fencing_disabled);
    ImportResult result = im.result;
    std::string text = out.text() + fencing.text() + "\n" + policy.text() + "\n" + resources.text();
    result.yaml = text;
    result.steps.push_back("make the cluster key: `veeam-hactl keygen` on one node, then copy it to the other "
                           "with scp -p (it prints the command)");
    if (im.result.placeholders > 0)
        result.steps.push_back("replace the " + std::to_string(im.result.placeholders) +
                               " FILL IN value(s): `veeam-hactl check` refuses the file until then");
    return result;
}

}  // namespace veeamha::migrate

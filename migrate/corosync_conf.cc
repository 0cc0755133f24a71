// SPDX-License-Identifier: GPL-2.0-or-later
#include "migrate/corosync_conf.h"

#include <cctype>
#include <sstream>

#include "migrate/input_error.h"

namespace veeamha::migrate {

namespace {

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

std::string unquote(const std::string& v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
    return v;
}

// "ring1_addr" -> 1; -1 for any other key.
int ring_index(const std::string& key) {
    if (key.size() != 10 || key.rfind("ring", 0) != 0 || key.substr(5) != "_addr" ||
        !std::isdigit(static_cast<unsigned char>(key[4])))
        return -1;
    return key[4] - '0';
}

}  // namespace

CorosyncConf read_corosync_conf(const std::string& text, const std::string& file_name) {
    CorosyncConf conf;
    conf.file = file_name;
    std::vector<std::string> path;  // open sections, outermost first
    std::istringstream in(text);
    std::string raw;
    int line_no = 0;
    auto fail = [&](const std::string& what) -> void {
        throw InputError(file_name + ":" + std::to_string(line_no) + ": " + what);
    };
    bool any = false;
    while (std::getline(in, raw)) {
        ++line_no;
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        if (line == "}") {
            if (path.empty()) fail("expected 'key: value' or 'section {', found a '}' that closes nothing");
            path.pop_back();
            continue;
        }
        if (line.back() == '{') {
            std::string name = trim(line.substr(0, line.size() - 1));
            if (name.empty() || name.find_first_of(" \t:") != std::string::npos)
                fail("expected a section name before '{', found '" + line + "'");
            path.push_back(name);
            if (path.size() == 2 && path[0] == "nodelist" && name == "node") {
                conf.nodes.push_back({});
                conf.nodes.back().line = line_no;
            }
            any = true;
            continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string::npos || colon == 0)
            fail("expected 'key: value', 'section {' or '}', found '" + line + "'");
        const std::string key = trim(line.substr(0, colon));
        const std::string value = unquote(trim(line.substr(colon + 1)));
        any = true;
        const std::string section = path.empty() ? "" : path[0];
        if (path.size() == 1 && section == "totem") {
            if (key == "cluster_name") conf.cluster_name = value;
            if (key == "token") conf.token = value;
            if (key == "transport") conf.transport = value;
        } else if (path.size() == 2 && section == "nodelist" && path[1] == "node") {
            CorosyncNode& node = conf.nodes.back();
            if (key == "name") node.name = value;
            if (key == "nodeid") node.nodeid = value;
            if (int ring = ring_index(key); ring >= 0) {
                if (node.rings.size() <= static_cast<size_t>(ring)) node.rings.resize(ring + 1);
                node.rings[ring] = value;
            }
        } else if (section == "quorum" && key == "provider" && value == "corosync_votequorum") {
            conf.notes.push_back("quorum (corosync_votequorum, two_node): a two-node veeam-had cluster decides by "
                                 "fencing and ping targets, not by votes");
        }
    }
    if (!path.empty()) {
        line_no = 0;
        throw InputError(file_name + ": section '" + path.back() + "' is not closed; expected a '}' for it");
    }
    if (!any) throw InputError(file_name + ": expected a corosync.conf (totem { ... } nodelist { ... }), found no settings");
    if (conf.nodes.empty())
        throw InputError(file_name + ": expected a nodelist { node { ring0_addr: ... } } section with the two nodes, "
                         "found none (corosync 1's multicast setups without a nodelist cannot be imported)");
    for (const auto& node : conf.nodes)
        if (node.rings.empty() || node.rings[0].empty())
            throw InputError(file_name + ":" + std::to_string(node.line) +
                             ": nodelist node: expected ring0_addr (the node's address on link 0), found none");
    return conf;
}

}  // namespace veeamha::migrate

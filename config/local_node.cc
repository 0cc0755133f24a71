// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/local_node.h"

#include <unistd.h>

#include <climits>
#include <vector>

#include "base/text.h"

namespace veeamha::config {

namespace {

std::string short_name(const std::string& name) { return name.substr(0, name.find('.')); }

// Full names first (case-insensitive, like DNS), then the part before the first dot on both
// sides, so "vbr-repo-1" finds "vbr-repo-1.vmik.lab" and the other way round.
std::variant<int, std::string> match(const Config& config, const std::string& wanted) {
    for (size_t i = 0; i < config.nodes.size(); ++i)
        if (base::lower(config.nodes[i].name) == base::lower(wanted)) return static_cast<int>(i);
    std::vector<int> hits;
    for (size_t i = 0; i < config.nodes.size(); ++i)
        if (base::lower(short_name(config.nodes[i].name)) == base::lower(short_name(wanted)))
            hits.push_back(static_cast<int>(i));
    if (hits.size() == 1) return hits.front();
    return std::string(hits.empty() ? "matches no configured node" : "matches both nodes");
}

std::string node_list(const Config& config) {
    std::string out;
    for (size_t i = 0; i < config.nodes.size(); ++i) {
        if (i > 0) out += i + 1 == config.nodes.size() ? " or " : ", ";
        out += config.nodes[i].name;
    }
    return out;
}

}  // namespace

namespace detail {

std::variant<int, std::string> resolve_local_node_for(const Config& config,
                                                      const std::string& override_name,
                                                      const std::string& host_name) {
    const bool by_option = !override_name.empty();
    const std::string& wanted = by_option ? override_name : host_name;
    auto found = match(config, wanted);
    if (std::holds_alternative<int>(found)) return found;
    const std::string& why = std::get<std::string>(found);
    if (by_option)
        return "--node " + wanted + " " + why + "; expected " + node_list(config);
    return "this host is named " + wanted + ", which " + why + " (" + node_list(config) +
           "); give --node NAME or fix nodes[].name";
}

}  // namespace detail

std::variant<int, std::string> resolve_local_node(const Config& config,
                                                  const std::string& override_name) {
    char host[HOST_NAME_MAX + 1] = {};
    if (override_name.empty() && gethostname(host, sizeof host - 1) != 0)
        return std::string("cannot read this host's name; give --node NAME");
    return detail::resolve_local_node_for(config, override_name, host);
}

}  // namespace veeamha::config

// SPDX-License-Identifier: GPL-2.0-or-later
// Small members of the config.h types.
#include "config/config.h"

namespace veeamha::config {

const char* to_string(ResourceKind kind) {
    switch (kind) {
        case ResourceKind::Lvm: return "lvm";
        case ResourceKind::Filesystem: return "filesystem";
        case ResourceKind::Bind: return "bind";
        case ResourceKind::Ip: return "ip";
        case ResourceKind::Service: return "service";
        case ResourceKind::Exec: return "exec";
    }
    return "unknown";
}

std::string Cidr::text() const { return address + "/" + std::to_string(prefix); }

int Config::node_index(const std::string& name) const {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].name == name) return static_cast<int>(i);
    return -1;
}

int Config::preferred_node() const {
    if (nodes.size() != 2) return nodes.empty() ? -1 : 0;
    return nodes[1].priority > nodes[0].priority ? 1 : 0;
}

std::string ConfigError::to_string() const {
    std::string out = where.file;
    if (where.line > 0) {
        out += ":" + std::to_string(where.line);
        if (where.column > 0) out += ":" + std::to_string(where.column);
    }
    out += ": ";
    if (!key_path.empty()) out += key_path + ": ";
    return out + message;
}

}  // namespace veeamha::config

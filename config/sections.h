// SPDX-License-Identifier: GPL-2.0-or-later
// The loader's stages: parse each section of the YAML tree into the typed structs (reporting
// syntax and range errors where they are), then cross-section rules, warnings, and the checks
// of files the configuration names.
#pragma once

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/yaml_reader.h"

namespace veeamha::config::detail {

// False when the document is not a mapping at all (nothing else is worth checking then).
bool parse_root(const Value& root, Config& config);

void parse_cluster(const Value& v, ClusterSection& out);
void parse_nodes(const Value& v, std::vector<Node>& out);
void parse_heartbeat(const Value& v, HeartbeatSection& out);
void parse_fencing(const Value& v, FencingSection& out);
void parse_policy(const Value& v, PolicySection& out);
void parse_resources(const Value& v, std::vector<Resource>& out);
void parse_alerts(const Value& v, std::vector<Alert>& out);
void parse_sync(const Value& v, SyncSection& out);
void parse_peer_check(const Value& v, PeerCheckSection& out);

// Rules that involve more than one value (unique names, link counts, order of the group...).
void validate(const Config& config, Diagnostics& diag);
// Risky but allowed settings.
void add_warnings(const Config& config, Diagnostics& diag);
// Key and password files exist and are private, the CA file holds a certificate, the fence
// agents and alert programs exist (LoadOptions::check_files).
void check_files(const Config& config, Diagnostics& diag);

}  // namespace veeamha::config::detail

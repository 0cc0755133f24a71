// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl status --json` and HTTP /status: one JSON object with the fields docs/design.md §8
// promises (cluster, local_node, owner or null, epoch, nodes with links, resources, maintenance,
// last_failover or null), plus a few more. Field names are an interface: only add.
#pragma once

#include <string>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

std::string status_to_json(const wire::Status& status);
// The same status for people (veeam-hactl status), like `pcs status`.
std::string status_to_text(const wire::Status& status);
// Lower-case names used in both: "started", "stop-failed", ...
const char* state_name(wire::ResourceState s);
const char* state_name(wire::GroupState s);
// "2026-11-24T21:53:04.123Z"
std::string iso8601_utc(int64_t unix_ms);

}  // namespace veeamha::runtime

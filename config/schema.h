// SPDX-License-Identifier: GPL-2.0-or-later
// The key names of /etc/veeam-ha.yaml (docs/design.md §9), one table, so the mapping readers, the
// "did you mean" hints and the documentation tests all agree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace veeamha::config::detail {

// Allowed keys of the mapping at `section`, a pattern with "[]" for list items:
// "" (the top level), "cluster", "nodes[]", "fencing.vsphere", "resources[].ip", ...
// Empty for an unknown pattern.
const std::vector<std::string>& keys_of(std::string_view section);

// The sections where `key` is allowed, as patterns ("fencing.vsphere").
std::vector<std::string> sections_with(std::string_view key);

// Every section pattern, in file order (for tests and docs).
std::vector<std::string> all_sections();

// The resource kinds, which are also the keys that select a resource's kind.
const std::vector<std::string>& resource_kinds();

}  // namespace veeamha::config::detail

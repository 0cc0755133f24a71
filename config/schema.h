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

// "password" or "passwd": a key that would put a secret in the file. Wherever password_file
// is allowed (fencing.vsphere, fencing.levels[].args) such a key gets kPasswordInConfig, the
// README's promise, instead of a "did you mean".
bool is_password_key(std::string_view key);
inline constexpr const char* kPasswordInConfig =
    "passwords are never written in the configuration; put it in a file with mode 0600 and "
    "give password_file";

// The resource kinds, which are also the keys that select a resource's kind.
const std::vector<std::string>& resource_kinds();

}  // namespace veeamha::config::detail

// SPDX-License-Identifier: GPL-2.0-or-later
// "did you mean ...?" for unknown keys and enum values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace veeamha::config::detail {

// Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent swaps),
// ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate a typo most likely meant, or nullopt if none is close enough.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace veeamha::config::detail

// SPDX-License-Identifier: GPL-2.0-or-later
// Pacemaker's small value languages as its documentation ("Pacemaker Explained") defines them:
// durations (a number with an optional unit, seconds by default), scores (integers or
// INFINITY), booleans, and the pcmk_host_map of a fence device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace veeamha::migrate {

// "30s", "30" (seconds), "500ms", "10min", "1h", "2hr", "5000us"; nullopt for anything else,
// ISO 8601 ("PT30S") included.
std::optional<config::Duration> parse_pcmk_duration(std::string_view text);

// Pacemaker treats INFINITY as this large finite number.
inline constexpr int64_t kScoreInfinity = 1000000;
// "100", "-50", "INFINITY", "+INFINITY", "-INFINITY" (clamped to +-kScoreInfinity).
std::optional<int64_t> parse_score(std::string_view text);

// Pacemaker's true ("true", "on", "yes", "y", "1") and false ("false", "off", "no", "n", "0").
std::optional<bool> parse_pcmk_bool(std::string_view text);

// "node1:uuid1;node2:uuid2", entries separated by ';', spaces or tabs, each name and value
// separated by ':' or '='. Entries without a separator are returned in `malformed`.
struct HostMap {
    std::vector<std::pair<std::string, std::string>> entries;  // (node, port) in written order
    std::vector<std::string> malformed;
};
HostMap parse_host_map(std::string_view text);

// A list of node names separated by spaces, commas or semicolons (pcmk_host_list).
std::vector<std::string> split_list(std::string_view text);

}  // namespace veeamha::migrate

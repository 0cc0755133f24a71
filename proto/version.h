// SPDX-License-Identifier: GPL-2.0-or-later
// Protocol version carried in Heartbeat and Hello (see veeamha.proto for the rules).
#pragma once

#include <cstdint>

namespace veeamha::wire {

inline constexpr uint32_t kProtocolMajor = 1;
inline constexpr uint32_t kProtocolMinor = 1;  // 1.1: heartbeats say who leads the round (RoundRole)

// A peer can join when the majors match; a minor difference is tolerated in either direction
// (the newer side speaks only what the older one understands).
inline constexpr bool compatible(uint32_t peer_major) { return peer_major == kProtocolMajor; }

}  // namespace veeamha::wire

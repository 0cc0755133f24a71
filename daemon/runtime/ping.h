// SPDX-License-Identifier: GPL-2.0-or-later
// Rule 4b's reachability check: ICMP echo to every policy.ping_targets address at once; true as
// soon as any of them answers, false when none does before the deadline. Blocking (run it off
// the event loop); needs root for the raw sockets, as the daemon has.
#pragma once

#include <string>
#include <vector>

#include "base/deadline.h"

namespace veeamha::runtime {

struct PingResult {
    bool reachable = false;
    std::string detail;  // "192.168.22.1 answered in 0.4ms" / "no answer from 192.168.22.1, ..."
};

PingResult ping_any(const std::vector<std::string>& targets, base::Deadline deadline);

}  // namespace veeamha::runtime

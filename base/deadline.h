// SPDX-License-Identifier: GPL-2.0-or-later
// Blocking operations in veeam-had take an absolute deadline on the monotonic clock, so that a
// chain of steps shares one budget and nothing waits longer than its caller allowed.
#pragma once

#include <chrono>

namespace veeamha::base {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline std::chrono::milliseconds remaining(Deadline deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

inline bool expired(Deadline deadline) { return Clock::now() >= deadline; }

}  // namespace veeamha::base

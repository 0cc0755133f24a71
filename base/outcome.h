// SPDX-License-Identifier: GPL-2.0-or-later
// How one resource operation ended: what a resource reports (base/resource.h) and what the
// engine reads (engine::ResourceDone). Pure vocabulary, header only.
#pragma once

namespace veeamha::base {

enum class Outcome {
    Ok,          // start/stop: done; monitor: running and healthy
    NotRunning,  // monitor only: cleanly stopped
    Failed,      // the reason says what and, where possible, what to do
    TimedOut,    // the deadline passed; the reason names the step that was running
};

constexpr const char* to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::Ok: return "ok";
        case Outcome::NotRunning: return "not running";
        case Outcome::Failed: return "failed";
        case Outcome::TimedOut: return "timed out";
    }
    return "?";
}

}  // namespace veeamha::base

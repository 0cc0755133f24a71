// SPDX-License-Identifier: GPL-2.0-or-later
// The one interface every resource kind implements (DESIGN.md §5): lvm and filesystem in
// storage/, ip in net/, service and exec in daemon/. Calls block and are run by the daemon on a
// worker thread; each honours the deadline it is given (an external command is killed at the
// deadline). The engine never sees this interface: it knows resources by index and kind.
#pragma once

#include <string>

#include "deadline.h"

namespace veeamha {

enum class OpStatus {
    Ok,          // start/stop: done; monitor: running and healthy
    NotRunning,  // monitor only: cleanly stopped
    Failed,      // reason says what and, where possible, what to do
    TimedOut,    // the deadline passed; reason names the step that was running
};

const char* to_string(OpStatus status);

struct OpResult {
    OpStatus status = OpStatus::Failed;
    std::string reason;

    static OpResult ok(std::string why = {}) { return {OpStatus::Ok, std::move(why)}; }
    static OpResult not_running(std::string why = {}) { return {OpStatus::NotRunning, std::move(why)}; }
    static OpResult failed(std::string why) { return {OpStatus::Failed, std::move(why)}; }
    static OpResult timed_out(std::string why) { return {OpStatus::TimedOut, std::move(why)}; }
    bool is_ok() const { return status == OpStatus::Ok; }
};

// Facts about the cluster a resource may need to act safely. Filled in by the daemon from the
// engine's Run output.
struct OpContext {
    Deadline deadline;
    std::string local_node;
    std::string peer_node;
    // start: the peer was confirmed fenced or cleanly released the group, so ownership marks it
    // left behind (LVM system ID, tags) may be taken over.
    bool peer_released_or_fenced = false;
    // stop: the group is being handed to this node by a clean release (LVM: give it the VG's
    // system ID). Empty = no hand-over (the VG keeps this node's ID).
    std::string hand_over_to;
};

class Resource {
public:
    virtual ~Resource() = default;
    virtual OpResult start(const OpContext& ctx) = 0;
    virtual OpResult stop(const OpContext& ctx) = 0;
    virtual OpResult monitor(const OpContext& ctx) = 0;
};

}  // namespace veeamha

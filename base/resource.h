// SPDX-License-Identifier: GPL-2.0-or-later
// The one interface every resource kind implements (docs/design.md §5). Where each kind lives:
// lvm and filesystem in storage/, ip in net/ip/, service and exec in daemon/resources/. Calls
// block and are run by the daemon on a worker thread; each honours the deadline it is given (an
// external command is killed at the deadline). The engine never sees this interface: it knows
// resources by index and kind, and reads only their Outcome.
#pragma once

#include <functional>
#include <string>

#include "base/deadline.h"
#include "base/outcome.h"

namespace veeamha::base {

struct OpResult {
    Outcome outcome = Outcome::Failed;
    std::string reason;
    // TimedOut only: the call was left running past the deadline (a mount(2) blocked in the
    // kernel) and may still take effect. The resource's stop must not report it stopped while
    // such a call may still land.
    bool still_running = false;

    static OpResult ok(std::string why = {}) { return {Outcome::Ok, std::move(why)}; }
    static OpResult not_running(std::string why = {}) { return {Outcome::NotRunning, std::move(why)}; }
    static OpResult failed(std::string why) { return {Outcome::Failed, std::move(why)}; }
    static OpResult timed_out(std::string why) { return {Outcome::TimedOut, std::move(why)}; }
    static OpResult left_running(std::string why) { return {Outcome::TimedOut, std::move(why), true}; }
    bool is_ok() const { return outcome == Outcome::Ok; }
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
    // Called, from whatever thread, when a call the operation reported left running
    // (OpResult::left_running) has returned at last: whatever it did has now happened. Empty =
    // nobody listens.
    std::function<void()> left_running_returned;
};

// The contract of monitor: Ok = running and healthy; NotRunning = nothing of it runs (also a
// unit that failed and is dead); Failed = broken and perhaps partly running; TimedOut = could
// not tell. A stop counts as done only once a monitor after it says NotRunning.
class Resource {
public:
    virtual ~Resource() = default;
    virtual OpResult start(const OpContext& ctx) = 0;
    virtual OpResult stop(const OpContext& ctx) = 0;
    virtual OpResult monitor(const OpContext& ctx) = 0;
    // A start is coming soon (the resources before it are starting, or the peer is being fenced
    // or is handing the group over): get ready ahead of the turn without changing anything a
    // start would have to undo, and return at once (work goes on a thread the resource owns,
    // bounded in time). The start that follows may use the work, never trust it blindly; a
    // kind with nothing to prepare ignores it.
    virtual void prepare(const OpContext& /*ctx*/) {}
};

}  // namespace veeamha::base

// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/wire_codec.h"

namespace veeamha::runtime {

using engine::GroupState;
using engine::ResourceState;

wire::GroupState to_wire(GroupState s) {
    switch (s) {
        case GroupState::Unknown: return wire::GROUP_UNKNOWN;
        case GroupState::Stopped: return wire::GROUP_STOPPED;
        case GroupState::Starting: return wire::GROUP_STARTING;
        case GroupState::Started: return wire::GROUP_STARTED;
        case GroupState::Stopping: return wire::GROUP_STOPPING;
        case GroupState::Failed: return wire::GROUP_FAILED;
        case GroupState::Unclean: return wire::GROUP_UNCLEAN;
    }
    return wire::GROUP_UNKNOWN;
}

wire::ResourceState to_wire(ResourceState s) {
    switch (s) {
        case ResourceState::Unknown: return wire::RESOURCE_UNKNOWN;
        case ResourceState::Stopped: return wire::RESOURCE_STOPPED;
        case ResourceState::Starting: return wire::RESOURCE_STARTING;
        case ResourceState::Started: return wire::RESOURCE_STARTED;
        case ResourceState::Stopping: return wire::RESOURCE_STOPPING;
        case ResourceState::Failed: return wire::RESOURCE_FAILED;
        case ResourceState::StopFailed: return wire::RESOURCE_STOP_FAILED;
    }
    return wire::RESOURCE_UNKNOWN;
}

namespace {

// Values a newer peer may send that this version does not know read as "unknown", which the
// engine treats as "might be running": the safe reading.
GroupState group_from_wire(int s) {
    switch (s) {
        case wire::GROUP_STOPPED: return GroupState::Stopped;
        case wire::GROUP_STARTING: return GroupState::Starting;
        case wire::GROUP_STARTED: return GroupState::Started;
        case wire::GROUP_STOPPING: return GroupState::Stopping;
        case wire::GROUP_FAILED: return GroupState::Failed;
        case wire::GROUP_UNCLEAN: return GroupState::Unclean;
        default: return GroupState::Unknown;
    }
}

ResourceState resource_from_wire(int s) {
    switch (s) {
        case wire::RESOURCE_STOPPED: return ResourceState::Stopped;
        case wire::RESOURCE_STARTING: return ResourceState::Starting;
        case wire::RESOURCE_STARTED: return ResourceState::Started;
        case wire::RESOURCE_STOPPING: return ResourceState::Stopping;
        case wire::RESOURCE_FAILED: return ResourceState::Failed;
        case wire::RESOURCE_STOP_FAILED: return ResourceState::StopFailed;
        default: return ResourceState::Unknown;
    }
}

}  // namespace

wire::NodeState to_wire(const engine::NodeState& s) {
    wire::NodeState w;
    w.set_version(s.version);
    w.set_epoch(s.epoch);
    w.set_owner(s.owner);
    w.set_holding(s.holding);
    w.set_grant_epoch(s.grant_epoch);
    w.set_group(to_wire(s.group));
    for (auto r : s.resources) w.add_resources(to_wire(r));
    w.set_standby(s.standby);
    w.set_unclean(s.unclean);
    w.set_yielding(s.yielding);
    w.set_wants_group(s.wants_group);
    w.set_leaving(s.leaving);
    w.set_maintenance(s.maintenance);
    w.set_maintenance_version(s.maintenance_version);
    w.set_config_digest(s.config_digest);
    if (s.priority) w.set_priority(*s.priority);
    return w;
}

engine::NodeState from_wire(const wire::NodeState& w) {
    engine::NodeState s;
    s.version = w.version();
    s.epoch = w.epoch();
    s.owner = w.owner();
    s.holding = w.holding();
    s.grant_epoch = w.grant_epoch();
    s.group = group_from_wire(w.group());
    for (int r : w.resources()) s.resources.push_back(resource_from_wire(r));
    s.standby = w.standby();
    s.unclean = w.unclean() || s.group == GroupState::Unclean;
    s.yielding = w.yielding();
    s.wants_group = w.wants_group();
    s.leaving = w.leaving();
    s.maintenance = w.maintenance();
    s.maintenance_version = w.maintenance_version();
    s.config_digest = w.config_digest();
    if (w.has_priority()) s.priority = w.priority();
    return s;
}

}  // namespace veeamha::runtime

// SPDX-License-Identifier: GPL-2.0-or-later
#include <string>

#include "daemon/engine/engine.h"
#include "daemon/engine/types.h"

namespace veeamha::engine {

const char* to_string(GroupState s) {
    switch (s) {
        case GroupState::Unknown: return "unknown";
        case GroupState::Stopped: return "stopped";
        case GroupState::Starting: return "starting";
        case GroupState::Started: return "started";
        case GroupState::Stopping: return "stopping";
        case GroupState::Failed: return "failed";
        case GroupState::Unclean: return "unclean";
    }
    return "?";
}

const char* to_string(ResourceState s) {
    switch (s) {
        case ResourceState::Unknown: return "unknown";
        case ResourceState::Stopped: return "stopped";
        case ResourceState::Starting: return "starting";
        case ResourceState::Started: return "started";
        case ResourceState::Stopping: return "stopping";
        case ResourceState::Failed: return "failed";
        case ResourceState::StopFailed: return "stop-failed";
    }
    return "?";
}

const char* to_string(Op op) {
    switch (op) {
        case Op::Start: return "start";
        case Op::Stop: return "stop";
        case Op::Monitor: return "monitor";
    }
    return "?";
}

const char* to_string(Power p) {
    switch (p) {
        case Power::Unknown: return "unknown";
        case Power::On: return "powered on";
        case Power::Off: return "powered off";
    }
    return "?";
}

const char* to_string(FenceFault f) {
    switch (f) {
        case FenceFault::Unanswered: return "unanswered";
        case FenceFault::Refused: return "refused";
        case FenceFault::BadCredentials: return "bad credentials";
    }
    return "?";
}

const char* to_string(FenceAction a) {
    switch (a) {
        case FenceAction::Off: return "off";
        case FenceAction::On: return "on";
        case FenceAction::Check: return "check";
    }
    return "?";
}

const char* to_string(AdminVerb v) {
    switch (v) {
        case AdminVerb::Move: return "move";
        case AdminVerb::Standby: return "standby";
        case AdminVerb::Unstandby: return "unstandby";
        case AdminVerb::MaintenanceOn: return "maintenance on";
        case AdminVerb::MaintenanceOff: return "maintenance off";
        case AdminVerb::Cleanup: return "cleanup";
        case AdminVerb::ConfirmFenced: return "confirm-fenced";
    }
    return "?";
}

const char* to_string(Membership m) {
    switch (m) {
        case Membership::Unknown: return "unknown";
        case Membership::Up: return "up";
        case Membership::Lost: return "lost";
        case Membership::Fenced: return "fenced";
        case Membership::Left: return "left";
    }
    return "?";
}

const char* to_string(Acquired a) {
    switch (a) {
        case Acquired::None: return "none";
        case Acquired::Grant: return "grant";
        case Acquired::PeerLeft: return "peer-left";
        case Acquired::Fence: return "fence";
        case Acquired::PeerOff: return "peer-off";
        case Acquired::AdminConfirm: return "admin-confirm";
        case Acquired::Adopted: return "adopted";
        case Acquired::Unsafe: return "unsafe";
    }
    return "?";
}

std::string format_ms(Millis ms) {
    if (ms < 0) return "-" + format_ms(-ms);
    if (ms < 1000) return std::to_string(ms) + "ms";
    if (ms % 60000 == 0 && ms >= 60000) return std::to_string(ms / 60000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    std::string s = std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 + 1000).substr(1);
    while (s.back() == '0') s.pop_back();
    return s + "s";
}

}  // namespace veeamha::engine

// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/fencer.h"

#include "base/log.h"

namespace veeamha::fencing {

const char* to_string(PowerState state) {
    switch (state) {
        case PowerState::On: return "on";
        case PowerState::Off: return "off";
        case PowerState::Suspended: return "suspended";
        case PowerState::Unknown: break;
    }
    return "unknown";
}

const char* to_string(FailureClass failure) {
    switch (failure) {
        case FailureClass::None: return "none";
        case FailureClass::Other: return "other";
        case FailureClass::Transient: return "transient";
        case FailureClass::Credentials: return "credentials";
    }
    return "?";
}

FenceResult Fencer::reboot(const std::string& node, base::Deadline deadline) {
    FenceResult r = off(node, deadline);
    if (!r.confirmed) return r;
    FenceResult up = on(node, deadline);
    if (up.state != PowerState::Unknown) r.state = up.state;
    r.detail += up.confirmed ? "; then powered on again" : "; powering on again failed: " + up.detail;
    if (!up.confirmed) base::log::warning("fencing: " + node + " is off but did not power on again: " + up.detail);
    return r;
}

}  // namespace veeamha::fencing

// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/fencer.h"

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

}  // namespace veeamha::fencing

// SPDX-License-Identifier: GPL-2.0-or-later
#include "resource.h"

namespace veeamha {

const char* to_string(OpStatus status) {
    switch (status) {
        case OpStatus::Ok: return "ok";
        case OpStatus::NotRunning: return "not running";
        case OpStatus::Failed: return "failed";
        case OpStatus::TimedOut: return "timed out";
    }
    return "?";
}

}  // namespace veeamha

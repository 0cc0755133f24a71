// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl status --check`: the cluster in one line with a monitoring plugin's exit code
// (the Nagios/Icinga convention, like `crm_mon -s`): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
#pragma once

#include <string>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

enum class Health { Ok = 0, Warning = 1, Critical = 2, Unknown = 3 };
const char* to_string(Health h);  // "OK", "WARNING", ...

struct HealthCheck {
    Health health = Health::Unknown;
    std::string line;  // "VEEAMHA OK - group running on n1, peer n2 up, fencing ok"
};

// The worst of what the status shows, as seen from the node that answered it.
HealthCheck check_health(const wire::Status& status);
// When no status could be had (the daemon does not run or answer).
HealthCheck health_unknown(const std::string& why);

}  // namespace veeamha::runtime

// SPDX-License-Identifier: GPL-2.0-or-later
// A fence agent's own list of the options it knows (its metadata), and a level's args checked
// against it: `veeam-hactl check` finds a misspelt option before a fence needs the level.
#pragma once

#include <string>
#include <vector>

#include "base/deadline.h"
#include "config/config.h"

namespace veeamha::fencing::agent {

// The option names an agent accepts, from its metadata (`-o metadata`, the XML every
// fence-agents agent prints: resource-agent/parameters/parameter@name).
struct AgentParameters {
    bool ok = false;
    std::vector<std::string> names;
    std::string error;
};
AgentParameters agent_parameters(const std::string& agent, base::Deadline deadline);
// The problems of a level's args against those names: "usrname: not an option of fence_ipmilan;
// did you mean username?". password_file is veeam-had's own (it becomes `password`).
std::vector<std::string> check_level_args(const config::FenceLevel& level, const std::vector<std::string>& names);

}  // namespace veeamha::fencing::agent

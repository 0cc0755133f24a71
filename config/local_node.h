// SPDX-License-Identifier: GPL-2.0-or-later
// resolve_local_node with the host name passed in, so tests need not rename the machine.
#pragma once

#include <string>
#include <variant>

#include "config/config.h"

namespace veeamha::config::detail {

std::variant<int, std::string> resolve_local_node_for(const Config& config,
                                                      const std::string& override_name,
                                                      const std::string& host_name);

}  // namespace veeamha::config::detail

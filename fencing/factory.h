// SPDX-License-Identifier: GPL-2.0-or-later
// The fencing chain the configuration asks for: vSphere first (for the nodes that have a
// vm_uuid), then each fencing.levels entry for the nodes it lists.
#pragma once

#include <memory>

#include "config/config.h"
#include "fencing/levels.h"

namespace veeamha::fencing {

std::unique_ptr<FenceLevels> make_fence_levels(const config::Config& config);

}  // namespace veeamha::fencing

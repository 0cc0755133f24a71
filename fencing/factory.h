// SPDX-License-Identifier: GPL-2.0-or-later
// The fencing chain the configuration asks for: vSphere first (for the nodes that have a
// vm_uuid), then each fencing.levels entry for the nodes it lists.
#pragma once

#include <memory>

#include "config/config.h"
#include "fencing/levels.h"
#include "fencing/vsphere/vsphere_fencer.h"

namespace veeamha::fencing {

// `sessions`: the daemon keeps its vCenter session warm between calls; veeam-hactl, which
// makes one call and exits, asks for OneShot.
std::unique_ptr<FenceLevels> make_fence_levels(const config::Config& config,
                                               VimSessions sessions = VimSessions::KeepWarm);

}  // namespace veeamha::fencing

// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl fence ...`: the fencing subcommands, reading the same configuration as the
// daemon and using the same fencing chain.
//
//   veeam-hactl fence list                      every VM vCenter has: name, BIOS UUID, instance
//                                               UUID, power state (how to find vm_uuid values)
//   veeam-hactl fence status NODE               the node's power state, as the fencers read it
//   veeam-hactl fence off|on|reboot NODE --yes  act on the peer; refused without --yes and
//                                               refused for this node itself
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "config/config.h"

namespace veeamha::hactl {

// `args` are the words after "fence". `local_node_index` is this host's index in
// config.nodes (-1 if unknown: then no node counts as local, and off/on/reboot are refused).
// Returns the exit code: 0 done (fence confirmed, state read, list printed), 1 the operation
// failed or was not confirmed, 2 usage error or refused.
int fence_command(const config::Config& config, int local_node_index, const std::vector<std::string>& args);
int fence_command(const config::Config& config, int local_node_index, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err);

}  // namespace veeamha::hactl

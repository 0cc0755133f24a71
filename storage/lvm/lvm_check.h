// SPDX-License-Identifier: GPL-2.0-or-later
// Configuration checks for `veeam-hactl check`: would this host's lvm.conf or the shared VGs'
// metadata let a VG be activated behind veeam-had's back (at boot, or on both hosts)? Each
// warning says what is wrong and the command or lvm.conf line that fixes it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "storage/lvm/lvm_commands.h"

namespace veeamha::storage::lvm {

// Runs `lvm config`, `lvm systemid` and `vgs --foreign` (each bounded by `timeout`) and returns
// one line per problem; empty = nothing to fix. `local_node` is this node's name.
std::vector<std::string> lvm_config_warnings(const std::vector<config::LvmSpec>& vgs,
                                             const std::string& local_node,
                                             const LvmCommandOptions& options = {},
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Whether an lvm.conf activation list entry ("vg", "vg/lv", "@tag", "@*") selects VG `vg`
// carrying `tags`.
bool activation_list_matches(const std::vector<std::string>& list, const std::string& vg,
                             const std::vector<std::string>& tags);

}  // namespace veeamha::storage::lvm

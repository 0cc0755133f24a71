// SPDX-License-Identifier: GPL-2.0-or-later
// Who keeps a block device open: mounts (in any mount namespace), processes with an open file
// descriptor on it, and stacked block devices (sysfs holders/). Used to explain why an LV could
// not be deactivated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace veeamha::storage::lvm {

struct BlockHolders {
    std::vector<std::string> mounts;     // mount points ("/veeam/repo")
    std::vector<std::string> processes;  // "pid 812 (veeamagent)"
    std::vector<std::string> devices;    // kernel names of stacked devices ("dm-7")
    bool truncated = false;              // more holders than the limit
    bool empty() const { return mounts.empty() && processes.empty() && devices.empty(); }
};

// Scans /proc and /sys for holders of block device major:minor; at most `limit` of each kind.
BlockHolders find_block_holders(uint32_t major, uint32_t minor, size_t limit = 16);

// "mounted at /mnt; open by pid 812 (sleep)" or "no holder found".
std::string describe(const BlockHolders& holders);

}  // namespace veeamha::storage::lvm

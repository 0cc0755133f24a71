// SPDX-License-Identifier: GPL-2.0-or-later
// Mount points as paths: the form the kernel writes in mountinfo, and creating one. Shared by
// the filesystem and bind resource kinds.
#pragma once

#include <string>

namespace veeamha::storage::filesystem {

// The mount point as the kernel writes it in mountinfo: the parent resolved (symlinks, "..")
// plus the last component. The last component itself is not resolved, because resolving it
// would stat the root of the mounted filesystem, which blocks when that filesystem hangs.
struct MountPoint {
    std::string path;   // canonical, when error is empty
    std::string error;
};
MountPoint canonical_mount_point(const std::string& path);

// mkdir -p with mode 0755 for every directory it creates (whatever the umask). Empty, or why
// not (also when `path` exists and is not a directory).
std::string make_directories(const std::string& path);

}  // namespace veeamha::storage::filesystem

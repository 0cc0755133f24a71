// SPDX-License-Identifier: GPL-2.0-or-later
// Unmounting a mount that processes keep busy: umount2, and at EBUSY find the holders
// (holders.h), SIGTERM then SIGKILL them, and try again. Shared by the filesystem and bind
// resource kinds; what to do when it stays busy (lazy or forced unmount, or a failed stop) is
// the caller's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "storage/filesystem/bounded_call.h"
#include "storage/filesystem/holders.h"

namespace veeamha::storage::filesystem {

struct FilesystemTuning {
    // Between SIGTERM and SIGKILL to the processes that keep the mount busy (capped to half of
    // what is left of the stop deadline).
    std::chrono::milliseconds term_grace{3000};
    // umount2 attempts, each after stopping the holders found then.
    int unmount_attempts = 3;
};

struct BusyUnmount {
    enum class End {
        Unmounted,  // gone (also: it was no longer a mount point)
        TimedOut,   // umount2 did not return by the deadline (it may still)
        Failed,     // umount2 failed with `err`, not EBUSY
        Busy,       // still busy after every attempt, or the deadline came first
    };
    End end = End::Busy;
    int err = 0;
    std::vector<Holder> terminated;  // went away after SIGTERM
    std::vector<Holder> killed;      // needed SIGKILL
    std::string held;                // Busy: who holds it still ("" = no process found)

    // "; stopped with SIGTERM: 12 sh (cwd); killed with SIGKILL: ..." or "".
    std::string stopped_text() const;
};

// Unmounts `mount_point`, which is mount `mount_id` on device `mount_dev` (mountinfo), with
// UMOUNT_NOFOLLOW. `has_submounts`: other mounts sit below it, so an EBUSY with no holder is
// theirs and retrying cannot help. umount2 runs through call_with_deadline on `hung`.
BusyUnmount unmount_stopping_holders(const std::string& mount_point, int mount_id, dev_t mount_dev,
                                     bool has_submounts, const FilesystemTuning& tuning,
                                     base::Deadline deadline, const HungCalls& hung);

}  // namespace veeamha::storage::filesystem

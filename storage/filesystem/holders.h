// SPDX-License-Identifier: GPL-2.0-or-later
// Who keeps a mount busy, and making them let go: the /proc scan fuser(1) -m does (open files,
// working directory, root directory, executable, memory mappings), matched exactly by mount ID
// so that processes using the same filesystem through another mount (another mount namespace)
// are left alone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/deadline.h"

namespace veeamha::storage::filesystem {

struct Holder {
    pid_t pid = 0;
    unsigned long long start_time = 0;  // /proc/<pid>/stat field 22: guards against PID reuse
    std::string comm;
    std::string how;  // "cwd", "root", "exe", "fd 3", "mmap" (first reason found)
};

// Every process (this one included: it is reported, never signalled) that uses mount `mount_id` (device `dev`, used only when
// the mount ID of a mapping cannot be read). Stops scanning at the deadline.
std::vector<Holder> find_holders(int mount_id, dev_t dev, base::Deadline deadline);

struct HolderStopReport {
    std::vector<Holder> terminated;  // went away after SIGTERM
    std::vector<Holder> killed;      // needed SIGKILL and went away
    std::vector<Holder> survivors;   // still there at the deadline (e.g. stuck in D state)
};

// A running process as a holder (its start time read now), for callers that find processes by
// other means than a mount; `how` is their reason. Nullopt when it is gone, a zombie or a kernel
// thread.
std::optional<Holder> holder_of(pid_t pid, const std::string& how);

// SIGTERM to every holder, wait until they are gone or `term_grace` passed, SIGKILL the rest,
// wait until gone or the deadline. Signals go through pidfds opened after checking the start
// time, so a PID reused meanwhile is never signalled.
HolderStopReport stop_holders(const std::vector<Holder>& holders, std::chrono::milliseconds term_grace,
                              base::Deadline deadline);

// "1234 sleep (cwd), 1240 tail (fd 3)"
std::string describe(const std::vector<Holder>& holders);

}  // namespace veeamha::storage::filesystem

// SPDX-License-Identifier: GPL-2.0-or-later
// A private mount namespace for a test process: its mounts are invisible to other tests and
// vanish with the process.
#pragma once

#include <sched.h>
#include <sys/mount.h>

namespace veeamha::test {

// Enters it once per process (call it before any thread exists); true if this process has one.
inline bool enter_private_mount_namespace() {
    static int state = -1;
    if (state < 0) {
        state = ::unshare(CLONE_NEWNS) == 0 && ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    }
    return state == 1;
}

}  // namespace veeamha::test

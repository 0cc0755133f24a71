// SPDX-License-Identifier: GPL-2.0-or-later
// The shared disk's image served through FUSE (veeam-ha-lab-holdfs, tests/lab/holdfs.cc) so a
// test can stop its I/O: while held, a mount(2) of the loop device on it blocks in the kernel
// past any deadline, as on a SAN path that stopped answering. The lab owns one when
// LabOptions::disk_over_fuse is set (Lab::hold_disk_io).
//
// The server is our child; its stdin is a pipe from us, so if this process dies the server
// sees the end of it and releases everything (a host waiting for the disk can then die); it
// unmounts once the loop device on it is detached (by the lab, or by the next lab's cleanup
// of a crashed run). stop() (and the destructor) release, end the server (SIGKILL only if it
// does not go within 10 s: a dead FUSE server fails the held requests instead of leaving them
// waiting) and make sure nothing stays mounted.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

namespace veeamha::lab {

class HoldableDisk {
public:
    // Serves `backing` as `dir`/disk.img; `log` gets the server's stderr. Throws if it cannot.
    HoldableDisk(const std::string& backing, const std::string& dir, const std::string& log);
    ~HoldableDisk();
    HoldableDisk(const HoldableDisk&) = delete;
    HoldableDisk& operator=(const HoldableDisk&) = delete;

    // "" when this machine can serve one (a /dev/fuse, the kernel's fuse, the helper built),
    // else why not: for VEEAMHA_SKIP_TEST.
    static std::string unavailable();

    const std::string& image() const { return image_; }      // the file to put the loop device on
    const std::string& mountpoint() const { return dir_; }
    pid_t server_pid() const { return pid_; }
    // Returns once the server has it in effect. Throws if the server does not answer.
    void hold(bool held);
    // Requests waiting in the server right now (0 or 1: it serves one at a time).
    int waiting();
    // Releases, ends the server, unmounts. Returns what could not be cleaned up.
    std::vector<std::string> stop();

private:
    std::string command(const std::string& word);  // one line out, one line back

    std::string dir_, image_;
    pid_t pid_ = -1;
    int to_server_ = -1, from_server_ = -1;
    std::mutex mu_;        // one command at a time
    std::string pending_;  // what was read past the last answer line
};

// The helper's path (built next to the lab; VEEAM_HA_LAB_HOLDFS overrides), "" if not built.
std::string holdfs_binary();

}  // namespace veeamha::lab

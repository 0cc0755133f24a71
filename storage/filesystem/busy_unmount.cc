// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/filesystem/busy_unmount.h"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "base/log.h"

namespace veeamha::storage::filesystem {

std::string BusyUnmount::stopped_text() const {
    std::string t;
    if (!terminated.empty()) t += "; stopped with SIGTERM: " + describe(terminated);
    if (!killed.empty()) t += "; killed with SIGKILL: " + describe(killed);
    return t;
}

BusyUnmount unmount_stopping_holders(const std::string& mp, int mount_id, dev_t mount_dev,
                                     bool has_submounts, const FilesystemTuning& tuning,
                                     base::Deadline deadline, const HungCalls& hung) {
    struct SysResult {
        int rc = 0;
        int err = 0;
    };
    BusyUnmount out;
    std::vector<Holder> survivors, last_holders;
    for (int attempt = 1; attempt <= std::max(1, tuning.unmount_attempts); ++attempt) {
        auto r = call_with_deadline(
            [mp]() {
                int rc = ::umount2(mp.c_str(), UMOUNT_NOFOLLOW);
                return SysResult{rc, rc == 0 ? 0 : errno};
            },
            deadline, hung);
        if (!r) {
            out.end = BusyUnmount::End::TimedOut;
            return out;
        }
        if (r->rc == 0 || r->err == EINVAL) {  // EINVAL: no longer a mount point
            out.end = BusyUnmount::End::Unmounted;
            return out;
        }
        if (r->err != EBUSY) {
            out.end = BusyUnmount::End::Failed;
            out.err = r->err;
            return out;
        }
        last_holders = find_holders(mount_id, mount_dev, deadline);
        bool only_self = std::all_of(last_holders.begin(), last_holders.end(),
                                     [](const Holder& h) { return h.pid == ::getpid(); });
        if (only_self && !last_holders.empty()) {
            survivors = last_holders;
            break;  // we hold it ourselves (a blocked probe?): signalling cannot help
        }
        if (last_holders.empty()) {
            if (has_submounts) break;  // other mounts below ours: no process to stop
            // A holder that was just exiting, or one that left between the two calls.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        base::log::warning(mp + " is busy, stopping the processes that hold it: " + describe(last_holders));
        auto grace = std::min(tuning.term_grace, base::remaining(deadline) / 2);
        HolderStopReport report = stop_holders(last_holders, grace, deadline);
        out.terminated.insert(out.terminated.end(), report.terminated.begin(), report.terminated.end());
        out.killed.insert(out.killed.end(), report.killed.begin(), report.killed.end());
        survivors = report.survivors;
        if (base::expired(deadline)) break;
    }
    out.end = BusyUnmount::End::Busy;
    out.held = !survivors.empty() ? describe(survivors) : describe(last_holders);
    return out;
}

}  // namespace veeamha::storage::filesystem

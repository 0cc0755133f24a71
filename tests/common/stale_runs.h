// SPDX-License-Identifier: GPL-2.0-or-later
// What a test run killed without unwinding (SIGKILL, a CTest timeout) left on the machine,
// removed by the next run of the same fixture: the paths it named after its PID, the processes
// it started that name them (a VM's qemu), the loop devices backed by a file in them. Only the
// names of a PID that no longer exists are touched: a PID that exists may be a live run.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "storage/filesystem/holders.h"

namespace veeamha::test {

// "<prefix><PID>" or "<prefix><PID>-<anything>" -> PID; 0 when the name is not one of the prefix's.
pid_t run_owner(const std::string& name, const std::string& prefix);

// True only when no process has this PID (ESRCH); one we may not signal counts as alive.
bool pid_gone(pid_t pid);

// The processes for which `matches` holds, each with its start time read before `matches` looks
// at it (so a PID reused in between is not the one stop_holders() would signal). `how` says why.
std::vector<storage::filesystem::Holder> find_processes(const std::function<bool(pid_t)>& matches,
                                                        const std::string& how);

// For each entry of prefix's folder named "<prefix's last part><PID>[-...]" whose PID is gone:
// the processes whose command line names it are stopped (SIGTERM, then SIGKILL), the loop
// devices backed by a file in it detached, then it is removed. `prefix` is an absolute path
// prefix, e.g. "/var/tmp/veeamha-lvmvm-". Returns what was done, a line each.
std::vector<std::string> sweep_stale_runs(const std::string& prefix);

}  // namespace veeamha::test

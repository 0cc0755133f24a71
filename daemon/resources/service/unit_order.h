// SPDX-License-Identifier: GPL-2.0-or-later
// The shutdown order of the group's units (docs/resources.md "service"): a runtime drop-in
// `/run/systemd/system/UNIT.d/50-veeam-had-order.conf` with `Before=` the daemon's own unit.
//
// Why: at shutdown systemd stops every running unit in one transaction. Unordered, it stopped
// veeamtransport.service itself 0.1 s after it sent the daemon SIGTERM, while the daemon was
// handing the group over: a monitor then found the unit dead and counted a failure on the
// leaving node, and the order the group's resources stop in was systemd's, not the group's
// (docs/hosts.md "What it found"). Ordered Before= the daemon, the unit's stop job waits until
// the daemon has exited; the daemon stops the unit itself, in its turn, with StopUnit mode
// `ignore-dependencies`, which merges into that waiting job and lifts its order (a `replace`
// stop would wait for the daemon's own stop job: a deadlock until the resource's stop timeout).
//
// The file lives in /run: gone at reboot, written again by the first probe of the resource
// after the daemon starts (before any takeover needs it). The package's purge removes it.
#pragma once

#include <string>

namespace veeamha::resources::service {

inline constexpr const char* kOrderDropinName = "50-veeam-had-order.conf";
// systemd's runtime unit folder, where the drop-in goes on a host (tests point elsewhere).
inline constexpr const char* kRuntimeUnitDir = "/run/systemd/system";

// What the drop-in says.
std::string order_dropin_text(const std::string& daemon_unit);

// "<unit_dir>/<unit>.d/50-veeam-had-order.conf".
std::string order_dropin_path(const std::string& unit_dir, const std::string& unit);

enum class DropinWrite { Unchanged, Written, Failed };

// Makes the drop-in say order_dropin_text(daemon_unit): unchanged when it already does,
// otherwise written whole (a temporary file renamed over it: systemd never reads half a file)
// and systemd must reload. Failed: `error` says which path and why.
DropinWrite ensure_order_dropin(const std::string& unit_dir, const std::string& unit,
                                const std::string& daemon_unit, std::string& error);

// The systemd service unit this process runs in ("veeam-had.service"), or "" when it runs
// outside a service (by hand, in a test, in a scope): then nothing is ordered.
std::string own_service_unit();

}  // namespace veeamha::resources::service

// SPDX-License-Identifier: GPL-2.0-or-later
// Test fixture: a real systemd (PID 1) booted in a systemd-nspawn container from this machine's
// own root, read-only with a tmpfs on top (`-D / --volatile=yes`), in a private network
// namespace, with the host's /etc/passwd and /etc/group and one host folder (the test's helper
// programs, at /opt/veeamha-test) bound read-only. The container's system bus is reachable from the host at
// unix:path=/proc/LEADER/root/run/dbus/system_bus_socket. The destructor powers the container
// off (SIGTERM to nspawn = orderly halt), and kills what it started if that does not finish.
// NspawnOptions makes other shapes: an existing network namespace instead of a private one, a
// host name, extra nspawn options (capabilities, overlays, binds).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

struct sd_bus;

namespace veeamha::test {

struct NspawnOptions {
    // Bound read-only at /opt/veeamha-test when not empty.
    std::string bind_ro_dir;
    // Join this network namespace (/run/netns/NAME, --network-namespace-path) instead of a new
    // private one. nspawn then keeps CAP_NET_ADMIN from the container: add it to extra_args
    // (--capability=CAP_NET_ADMIN) if the container changes addresses.
    std::string network_namespace_path;
    // The container's host name (default: its machine name).
    std::string hostname;
    // Machine name = prefix + test PID + "x" + a sequence number (names are global).
    std::string name_prefix = "vhsvc";
    // More systemd-nspawn options, e.g. --capability=, --bind-ro=SRC:DST, --overlay-ro=.
    std::vector<std::string> extra_args;
    // nspawn gets SIGTERM (an orderly halt of the container) when the test process dies, so a
    // test killed by a CTest timeout leaves no container running.
    bool stop_with_parent = false;
    std::chrono::seconds boot_timeout{90};
};

class NspawnContainer {
public:
    // Empty when the container can run here; otherwise why not (no systemd-nspawn, not root).
    static std::string cannot_run_reason();

    // Boots the container and waits (bounded) until its systemd reports running or degraded, or
    // at least basic.target is reached (what units with default dependencies wait for). Throws
    // std::runtime_error on failure with the container's log tail, the states of its bus units
    // and its journal tail.
    explicit NspawnContainer(const std::string& bind_ro_dir,
                             std::chrono::seconds boot_timeout = std::chrono::seconds(90));
    explicit NspawnContainer(const NspawnOptions& options);
    ~NspawnContainer();
    NspawnContainer(const NspawnContainer&) = delete;
    NspawnContainer& operator=(const NspawnContainer&) = delete;

    const std::string& name() const { return name_; }
    pid_t leader() const { return leader_; }
    std::string bus_address() const;
    // Host path of a file inside the container ("/run/systemd/system/x.service").
    std::string host_path(const std::string& inside) const;

    // Writes a unit into the container's /run/systemd/system and reloads systemd.
    void install_unit(const std::string& unit, const std::string& text);
    // Manager.Reload, synchronous.
    void daemon_reload();
    // Manager.KillUnit(unit, who, signal): who is "main", "control" or "all".
    void kill_unit(const std::string& unit, int signal, const std::string& who = "main");
    // A string property of a loaded unit (interface e.g. org.freedesktop.systemd1.Service).
    std::string unit_property(const std::string& unit, const std::string& iface, const std::string& name);
    // A list property of the unit's org.freedesktop.systemd1.Unit interface (Before, After, ...).
    std::vector<std::string> unit_list_property(const std::string& unit, const std::string& name);
    // The unit's MainPID (0 when it has no main process).
    uint32_t main_pid(const std::string& unit);
    // Manager.METHOD(unit, "replace") (StartUnit, StopUnit, RestartUnit) without waiting for
    // the job to run.
    void queue_job(const std::string& method, const std::string& unit);
    std::string log_tail() const;
    // Waits (bounded) until the container has stopped by itself (e.g. after `systemctl
    // poweroff` inside it). True when it did; false when it still runs at the limit.
    bool wait_stopped(std::chrono::milliseconds limit);
    // False once the container has stopped (its nspawn process is gone).
    bool running();
    // "unit type state; ..." of the container's pending systemd jobs (for boot diagnostics).
    std::string pending_jobs() const;

private:
    void boot(const NspawnOptions& options);
    sd_bus* connect(std::chrono::milliseconds call_timeout) const;
    // Why the boot is not done: the log tail, pending jobs, the states of basic.target and the
    // system bus's units, the container's journal tail.
    std::string boot_report() const;
    void shutdown();

    std::string name_;
    std::string log_file_;
    pid_t nspawn_pid_ = -1;
    pid_t leader_ = -1;
};

}  // namespace veeamha::test

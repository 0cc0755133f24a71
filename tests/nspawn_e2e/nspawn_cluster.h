// SPDX-License-Identifier: GPL-2.0-or-later
// Two veeam-had hosts as systemd-nspawn containers (real systemd as PID 1), set up the way a
// user sets up two machines after installing the package:
//   - two network namespaces joined by two veth links (link 0: 10.70.0.0/24, eth0; link 1:
//     10.71.0.0/24, eth1), one container booted in each, with CAP_NET_ADMIN so the daemon can
//     add the floating address;
//   - the build's veeam-had and veeam-hactl bind-mounted at /usr/sbin, and the package's unit
//     file at /lib/systemd/system/veeam-had.service (a read-only overlay over the host's
//     /usr/sbin and /usr/lib/systemd/system holds the mount points), installed but not enabled;
//   - the same /etc/veeam-ha.yaml and /etc/veeam-ha/authkey (0600) in both; n1's host name is
//     n1.vhtest.lab (the daemon finds node n1 by the part before the dot), n2's is backup-b,
//     so it gets VEEAM_HAD_ARGS="--node n2" in /etc/default/veeam-had (the unit's
//     EnvironmentFile=); state and runtime directories private to each container (its tmpfs);
//   - the group: the floating address 10.70.0.100/24 on eth0 and vhtest-app.service, a real
//     unit (sleep infinity) that veeam-had starts and stops over D-Bus;
//   - fencing: one fence-agent level, /etc/veeam-ha/fence_vhtest, which answers `status` with
//     "on" (the daemon's periodic fencing check reads the peer's power state), records every
//     other call (off, on, reboot) in /run/vhtest-fence-attempts and never confirms one. Clean
//     paths never ask for those; if anything did, no takeover could follow (a takeover needs a
//     confirmed fence).
// Everything is named with the test's PID; the destructor powers both containers off, then
// deletes the namespaces and the run folder, also after a failed REQUIRE. A run killed by a
// timeout: nspawn gets SIGTERM from the kernel (parent-death signal), and the next run deletes
// namespaces whose PID is gone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/process.h"
#include "tests/resources/service/nspawn_container.h"

namespace veeamha::test {

inline constexpr int kN1 = 0;
inline constexpr int kN2 = 1;

class NspawnCluster {
public:
    // Empty when the cluster can run here; otherwise why not.
    static std::string cannot_run_reason();

    // Paths of the build's programs and of the package's unit file.
    NspawnCluster(std::string veeam_had, std::string veeam_hactl, std::string unit_file);
    ~NspawnCluster();
    NspawnCluster(const NspawnCluster&) = delete;
    NspawnCluster& operator=(const NspawnCluster&) = delete;

    static constexpr const char* kAppUnit = "vhtest-app.service";
    static constexpr const char* kFloatingIp = "10.70.0.100";
    static constexpr const char* kFenceLog = "/run/vhtest-fence-attempts";
    // A unit file in the configuration's `sync:` (the active node's copy goes to the passive).
    static constexpr const char* kSyncedUnit = "vhtest-synced.service";
    // The systemd watchdog the test's drop-in sets (the package says 10s).
    static constexpr std::chrono::seconds kWatchdog{3};

    const std::string& node(int i) const { return hosts_[i].node; }
    NspawnContainer& container(int i) { return *hosts_[i].container; }

    // The configuration file, the same on both nodes; `failback` is the policy switch the
    // reload test changes.
    std::string config_yaml(bool failback) const;

    // Files inside a container (through /proc/LEADER/root), written atomically enough for a
    // test: the daemon reads them only on start and on SIGHUP.
    void write_file(int i, const std::string& path, const std::string& text, mode_t mode);
    bool file_exists(int i, const std::string& path) const;
    std::string read_file(int i, const std::string& path) const;
    void chmod(int i, const std::string& path, mode_t mode);

    // Runs a program inside the container (nsenter into all its namespaces), no shell.
    base::ProcessResult exec(int i, const std::vector<std::string>& argv,
                       std::chrono::seconds timeout = std::chrono::seconds(90));
    // `systemctl ARGS...` inside the container.
    base::ProcessResult systemctl(int i, const std::vector<std::string>& args);
    // `systemctl show -p NAME...` of a unit, as NAME -> value.
    std::map<std::string, std::string> show(int i, const std::string& unit,
                                             const std::vector<std::string>& names);
    std::string property(int i, const std::string& unit, const std::string& name);
    // `journalctl -u UNIT -o cat`: the unit's messages (the daemon's and systemd's about it).
    std::string journal(int i, const std::string& unit);
    // The IPv4 addresses on the container's interface, as "10.70.0.1/24".
    std::vector<std::string> addresses(int i, const std::string& interface);
    bool has_floating_ip(int i);

    // Powers the container off from inside (`systemctl poweroff`, what a user's reboot of the
    // host does to the daemon) and waits at most `limit` for it to stop.
    bool power_off(int i, std::chrono::seconds limit);

    // Everything useful after a failure: both daemons' journals and unit states.
    std::string diagnostics();

private:
    struct Host {
        std::string node;
        std::string hostname;
        std::string netns;
        std::unique_ptr<NspawnContainer> container;
    };
    void make_run_folder();
    void make_network();
    void boot(int i);
    void install(int i);
    void teardown();

    std::string veeam_had_, veeam_hactl_, unit_file_;
    std::string run_dir_;
    std::string key_;
    Host hosts_[2];
    std::vector<std::string> netns_made_;
};

// Polls `probe` every 100 ms until it returns true, at most `limit`.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds limit);

}  // namespace veeamha::test

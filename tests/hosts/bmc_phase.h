// SPDX-License-Identifier: GPL-2.0-or-later
// The physical-host run of the hosts tier (issue 15; docs/hosts.md): the crash scenario again,
// with each VM given a BMC (bmc.h) and the cluster fenced through Debian's real fence_ipmilan
// (`fencing.levels`, vSphere off), as two physical servers would be. A phase, not a scenario of
// its own: it runs on a cluster that is up and healthy (the group running on either host, the
// configuration the hosts tier made from the example) and leaves it so, with the configuration
// it found, at the cost of one crash and one boot:
//   1. both hosts get the BMC levels and the BMC password file, `veeam-hactl check`, then the
//      live reload (`systemctl reload veeam-had`; fencing is one of the settings a reload
//      applies); each daemon's fencing check must then read its peer through the peer's BMC;
//   2. a client writes through the floating IP, and the active host hangs (its qemu stopped:
//      powered, silent on every link; only a fence can tell the survivor it is safe);
//   3. [unconfirmed_first] the hung host's BMC ignores power-off: the survivor's fence is not
//      confirmed (fence_ipmilan's status still reads on) and it must NOT take over; then the
//      BMC is repaired and the survivor's next try goes through;
//   4. the survivor powers the host off through its BMC (its qemu killed), reads the status back
//      as off, takes the VGs' system ID over, mounts XFS (log replay), adds the IP, starts the
//      unit; every record the client had acknowledged is intact;
//   5. `veeam-hactl fence on HOST --yes` on the survivor powers the host on through its BMC; it
//      boots with veeam-had enabled, activates none of the VGs and joins as passive;
//   6. the configuration found at the start goes back on both hosts, reloaded.
#pragma once

#include <string>

#include "tests/hosts/hosts_cluster.h"

namespace veeamha::test {

struct PhysicalHostOptions {
    bool unconfirmed_first = false;  // step 3 (adds a fence attempt that waits out fence_ipmilan's power_timeout)
};

// Seconds each step took, for the report (never asserted).
struct PhysicalHostTimes {
    double reload = 0;       // configuration switched until both fencing checks read the peer's BMC
    double unconfirmed = 0;  // hang until the survivor's first unconfirmed fence (step 3)
    double takeover = 0;     // hang (or the BMC's repair) until the group runs on the survivor
    double power_on = 0;     // `fence on` until the host is passive again
    double restore = 0;      // the configuration found put back
    double total = 0;
    std::string table() const;
};

// The configuration of the hosts tier (made from the example, fencing through vSphere) turned
// into the physical-host one: fencing.vsphere and the nodes' vm_uuid removed, one fence_ipmilan
// level per node for its BMC (Bmcs::kAddresses), its password in /etc/veeam-ha/ipmi.pass.
std::string physical_host_config(const std::string& vsphere_config);

PhysicalHostTimes physical_host_phase(HostsCluster& c, const PhysicalHostOptions& options = {});

}  // namespace veeamha::test

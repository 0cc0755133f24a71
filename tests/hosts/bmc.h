// SPDX-License-Identifier: GPL-2.0-or-later
// The hosts tier's physical-host run (docs/hosts.md): a BMC per VM, as a physical server has.
// Each is OpenIPMI's LAN simulator (ipmi_sim, Debian package openipmi) in the cluster's network
// namespace, on an address of its own on link 0 (what a site's management network is), UDP 623,
// one admin user, IPMI 2.0 (lanplus), so that Debian's real fence_ipmilan in the VMs talks to it
// as to a server's BMC. Its chassis control is a script (chassis_control in ipmi_sim's lan.conf):
//   - power off kills that VM's qemu with SIGKILL (a power cut: no unmount, no cache flush),
//     waits (5 s at most) until it is gone and then removes the pid file: once the test reaps
//     that qemu its PID may name another process, which a later power off must not kill;
//   - power status is on while that qemu lives (a zombie, killed but not yet reaped, is off);
//   - power on leaves a mark the test boots the VM on (the test owns its qemu processes).
// The pid file is HostsCluster::pid_file, written at every power_on. Every request the BMC got
// is logged (calls()). The simulators are killed, and their addresses removed, on destruction.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/hosts/hosts_cluster.h"

namespace veeamha::test {

inline constexpr const char* kBmcUser = "admin";
inline constexpr const char* kBmcPassword = "bmc-S3cret-15";

class HostBmc {
public:
    // `address`: the BMC's IPv4 address on link 0 (added to the namespace's bridge).
    HostBmc(HostsCluster& c, const HostVm& h, std::string address);
    ~HostBmc();
    HostBmc(const HostBmc&) = delete;
    HostBmc& operator=(const HostBmc&) = delete;

    const std::string& address() const { return address_; }
    const std::string& host_name() const { return host_; }

    // What the BMC was asked, one line each, oldest first: "get power", "set power 0", ...
    std::vector<std::string> calls() const;
    size_t count(const std::string& call) const;

    // Waits for a power-on request (chassis power on) and takes it: true once one came.
    bool take_power_on(std::chrono::seconds timeout);

    // A broken BMC, for proving that an unconfirmed fence stops a takeover: power-off is
    // acknowledged and logged ("set power 0 ignored") but the VM keeps running.
    void ignore_power_off(bool ignore);

private:
    std::string netns_, bridge_, host_, address_, dir_;
    pid_t pid_ = -1;
};

// One BMC for each host of the cluster: kAddresses[i] for host(i).
class Bmcs {
public:
    static constexpr const char* kAddresses[2] = {"192.168.22.11", "192.168.22.12"};
    // Empty when ipmi_sim is installed here; else what is missing.
    static std::string cannot_run_reason();

    explicit Bmcs(HostsCluster& c);
    HostBmc& of(const HostVm& h);

private:
    std::vector<std::unique_ptr<HostBmc>> bmcs_;
};

}  // namespace veeamha::test

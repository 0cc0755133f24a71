// SPDX-License-Identifier: GPL-2.0-or-later
// Test fixture: a BMC on loopback, OpenIPMI's simulator (ipmi_sim, Debian package openipmi),
// for Debian's real fence_ipmilan (fence-agents) to talk to through ipmitool. One user
// (kIpmiUser / kIpmiPassword, admin), lanplus, its own ephemeral UDP port; the "host" it powers
// is a `sleep` it starts. The simulator and its host are this fixture's process group, killed
// when it ends.
#pragma once

#include <sys/types.h>

#include <string>

#include "config/config.h"
#include "tests/fencing/vcsim_fixture.h"

namespace veeamha::test {

inline constexpr const char* kIpmiUser = "admin";
inline constexpr const char* kIpmiPassword = "ipmi-S3cret";

class IpmiSim {
public:
    // Empty when ipmi_sim, ipmitool and fence_ipmilan are all installed; else what is missing.
    static std::string cannot_run_reason();

    explicit IpmiSim(const TempDir& dir);
    ~IpmiSim();
    IpmiSim(const IpmiSim&) = delete;
    IpmiSim& operator=(const IpmiSim&) = delete;

    int port() const { return port_; }
    // A fencing.levels entry for fence_ipmilan against this BMC, its password in a 0600 file.
    config::FenceLevel level(const std::string& password_file) const;

private:
    int port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace veeamha::test

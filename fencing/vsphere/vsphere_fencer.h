// SPDX-License-Identifier: GPL-2.0-or-later
// Fencing through vCenter (docs/design.md §6): the node's VM, found by its BIOS (or instance) UUID,
// is powered off and only a `poweredOff` read back afterwards confirms the fence.
//
// Each call opens its own session (new TLS connection, login, ..., logout), so one VSphereFencer
// may be used from several threads, and a vCenter restart between fences costs nothing.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "fencing/fencer.h"

namespace veeamha::fencing {

namespace vsphere {
struct VimError;
}  // namespace vsphere

class VSphereFencer : public Fencer {
public:
    // `nodes`: node name -> VM UUID (the config's nodes[].vm_uuid).
    VSphereFencer(config::VSphere settings, std::vector<std::pair<std::string, std::string>> nodes);

    // Confirmed only when poweredOff is read back after the power-off task; a VM already off
    // counts (idempotent). A power-off that timed out is followed, if time is left, by a fresh
    // connection that reads the state: the VM may be off anyway.
    FenceResult off(const std::string& node, base::Deadline deadline) override;
    // Confirmed when poweredOn is read back.
    FenceResult on(const std::string& node, base::Deadline deadline) override;
    // Off (confirmed as above), then on. `confirmed` means the off was confirmed: that is what
    // makes a takeover safe; a failed power-on afterwards is reported in `detail`, and `state`
    // is the state read last.
    // `confirmed` = the power state was read; `state` holds it.
    FenceResult status(const std::string& node, base::Deadline deadline) override;
    ListResult list(base::Deadline deadline) override;
    std::string describe() const override;

    const config::VSphere& settings() const { return settings_; }

private:
    enum class Goal { Off, On };
    FenceResult power(const std::string& node, Goal goal, base::Deadline deadline);
    // Fresh connection, login, find, read: after a power-off whose outcome is unknown.
    FenceResult read_back(const std::string& uuid, const std::string& label, Goal goal,
                          base::Deadline deadline, const vsphere::VimError& why);
    std::string uuid_for(const std::string& node, std::string* error) const;
    std::string uuid_label() const;  // "BIOS UUID" or "instance UUID"

    config::VSphere settings_;
    std::vector<std::pair<std::string, std::string>> nodes_;
};

}  // namespace veeamha::fencing

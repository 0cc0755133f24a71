// SPDX-License-Identifier: GPL-2.0-or-later
// Fencing through vCenter (docs/design.md §6): the node's VM, found by its BIOS (or instance) UUID,
// is powered off and only a `poweredOff` read back afterwards confirms the fence.
//
// The vCenter session is kept warm between calls (docs/fencing.md): status() logs in when
// needed and leaves the session logged in with the VM's reference found, and a fence checks it
// with one cheap call and uses it, so that a failover does not pay the login. A session that
// turns out dead (ended on vCenter's side, vCenter restarted, connection broken) is replaced by
// a fresh connection and login at once, within the same deadline. One VSphereFencer may be
// used from several threads at once (each call has its own session or the kept one, never one
// shared); see SessionKeeper.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "fencing/fencer.h"

namespace veeamha::fencing {

namespace vsphere {
class Lease;
class SessionKeeper;
class VimSession;
struct VimError;
struct Moref;
template <class T>
class Result;
}  // namespace vsphere

// Whether a VSphereFencer keeps its session between calls: the daemon does; veeam-hactl, a
// process that ends after one call, logs out after each (a kept session would only linger on
// vCenter until its idle timeout).
enum class VimSessions { KeepWarm, OneShot };

class VSphereFencer : public Fencer {
public:
    // `nodes`: node name -> VM UUID (the config's nodes[].vm_uuid).
    VSphereFencer(config::VSphere settings, std::vector<std::pair<std::string, std::string>> nodes,
                  VimSessions sessions = VimSessions::KeepWarm);
    ~VSphereFencer() override;

    // Confirmed only when poweredOff is read back after the power-off task; a VM already off
    // counts (idempotent). A power-off that timed out is followed, if time is left, by a fresh
    // connection that reads the state: the VM may be off anyway.
    FenceResult off(const std::string& node, base::Deadline deadline) override;
    // Confirmed when poweredOn is read back.
    FenceResult on(const std::string& node, base::Deadline deadline) override;
    // `confirmed` = the power state was read; `state` holds it. Leaves the session warm.
    FenceResult status(const std::string& node, base::Deadline deadline) override;
    // Always on a session of its own (a listing is not on a failover's way).
    ListResult list(base::Deadline deadline) override;
    std::string describe() const override;
    void retire(base::Deadline deadline) override;

    const config::VSphere& settings() const { return settings_; }

private:
    enum class Goal { Off, On };
    struct Located;  // the VM's reference, and its power state when the way to it read it

    FenceResult power(const std::string& node, Goal goal, base::Deadline deadline);
    // A logged-in session in `lease` with the VM located: the kept session if its check
    // passes, else a fresh connection and login.
    vsphere::Result<Located> open(vsphere::Lease& lease, const std::string& uuid, base::Deadline deadline);
    vsphere::Result<Located> locate(vsphere::VimSession& session, const std::string& uuid,
                                    std::chrono::milliseconds budget);
    // A fresh connection reads the state: after a power-off whose outcome is unknown.
    FenceResult read_back(vsphere::Lease& lease, const std::string& uuid, const std::string& label, Goal goal,
                          base::Deadline deadline, const vsphere::VimError& why);
    std::string uuid_for(const std::string& node, std::string* error) const;
    std::string uuid_label() const;  // "BIOS UUID" or "instance UUID"
    void warn_if_insecure() const;

    config::VSphere settings_;
    std::vector<std::pair<std::string, std::string>> nodes_;
    std::unique_ptr<vsphere::SessionKeeper> keeper_;
};

}  // namespace veeamha::fencing

// SPDX-License-Identifier: GPL-2.0-or-later
// The one fencing interface (docs/design.md §6). Implementations: the vSphere SOAP client and the
// fence-agent runner; FenceLevels tries several in order. Calls block (the daemon runs them on a
// worker thread) and never outlive their deadline.
//
// The rule this interface exists for: `off` succeeds only when the power state was read back
// as off after the action. Anything else, a timeout included, is a failed fence.
#pragma once

#include <string>
#include <vector>

#include "base/deadline.h"

namespace veeamha::fencing {

enum class PowerState { On, Off, Suspended, Unknown };
const char* to_string(PowerState state);

// What kind of failure a result that is not confirmed was, so that the caller (the engine)
// can pace its retries: a fence that failed is retried until one is confirmed, and how soon
// depends on why it failed.
enum class FailureClass {
    None,         // confirmed: no failure
    Other,        // anything not below: no VM with that UUID, a vCenter fault, a refused
                  // certificate, a state read back that is not the goal, a local problem
                  // (password file). Retry on the usual backoff.
    Transient,    // the device could not be reached or heard: unreachable, connection refused
                  // or reset, timed out, a TLS handshake cut short by a host going down, a
                  // service not up yet (HTTP 503). Likely to work again soon: retry every 1-2 s.
    Credentials,  // the device refused who we are: wrong password (InvalidLogin), a missing
                  // privilege (NoPermission), a session refused right after a fresh login
                  // (NotAuthenticated). Retrying soon does not help and can lock the account
                  // (vCenter's SSO locks a user after a few failed logins): back off, alert.
};
const char* to_string(FailureClass failure);

struct FenceResult {
    bool confirmed = false;  // the requested end state was read back
    PowerState state = PowerState::Unknown;  // last state read, if any
    std::string fencer;      // "vsphere vcsa67.vmik.lab", "fence_ipmilan"
    std::string detail;      // what happened, or the error in plain words (never a password)
    // When not confirmed: why, for the retry pace (FenceLevels combines its levels': all
    // transient is transient, any credentials fault is credentials). The fencers set it on
    // every result that is not confirmed. None when confirmed, and on a result nobody
    // classified (the runtime's own "no fencer configured"): take that as Other.
    FailureClass failure = FailureClass::None;
};

struct VmInfo {
    std::string name;
    std::string bios_uuid;
    std::string instance_uuid;
    PowerState state = PowerState::Unknown;
};

struct ListResult {
    bool ok = false;
    std::vector<VmInfo> vms;
    std::string error;
};

class Fencer {
public:
    virtual ~Fencer() = default;
    // The target is the configured node name; the fencer maps it to its plug (VM UUID, ...).
    virtual FenceResult off(const std::string& node, base::Deadline deadline) = 0;
    virtual FenceResult on(const std::string& node, base::Deadline deadline) = 0;
    // Off, confirmed, then on. The result is the off's: a reboot confirms a fence as soon as
    // the power-off was read back; a failed power-on is logged and said in the detail.
    virtual FenceResult reboot(const std::string& node, base::Deadline deadline);
    virtual FenceResult status(const std::string& node, base::Deadline deadline) = 0;
    virtual ListResult list(base::Deadline deadline) = 0;
    virtual std::string describe() const = 0;
    // Ends what the fencer keeps open on the device (vSphere: logs its kept session out), within
    // `deadline`. Called on a worker thread before a fencer that is replaced is dropped; its
    // destructor only closes connections, so that it never waits for the device.
    virtual void retire(base::Deadline /*deadline*/) {}
};

}  // namespace veeamha::fencing

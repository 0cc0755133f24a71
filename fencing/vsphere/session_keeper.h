// SPDX-License-Identifier: GPL-2.0-or-later
// The vCenter session a VSphereFencer keeps logged in between calls, and the VM references it
// found. A login costs 0.3-1 s on a real vCenter (SSO), and a failover should not pay it: the
// daemon's fencing check (at start, then every 5 minutes) logs in and leaves the session here,
// and the fence that follows finds it warm.
//
// Threads: the daemon calls the fencer from worker threads; at most one fence runs at a time,
// but a fencing check may overlap it. One caller at a time checks the kept session out (a pool
// of one); the gSOAP context inside travels from thread to thread only through the mutex here,
// never used by two at once. A caller that cannot have it within its wait makes its own.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/deadline.h"
#include "fencing/vsphere/vim_session.h"

namespace veeamha::fencing::vsphere {

class SessionKeeper {
public:
    // `keep`: false makes every session one-shot (logged out after its call sequence), for
    // veeam-hactl, whose process ends before a kept session could serve anyone.
    explicit SessionKeeper(bool keep) : keep_(keep) {}
    // Closes the kept session's connection without logging out: a destructor may run on the
    // daemon's event loop (a reload replaces the fencer), which must not wait for vCenter. The
    // session then ends at vCenter's idle timeout (30 minutes by default).
    ~SessionKeeper();
    SessionKeeper(const SessionKeeper&) = delete;
    SessionKeeper& operator=(const SessionKeeper&) = delete;

    struct Checkout {
        std::unique_ptr<VimSession> session;  // the kept one; null when none is kept
        bool holder = false;                  // this caller has the slot until it gives back
    };
    // The kept session, waiting until `wait_until` while another caller has it out.
    Checkout take(base::Deadline wait_until);
    // Keeps `session` for the next caller when it is usable and none is kept (and keeping is
    // on); logs it out otherwise, in a short call. `holder` as take() returned it.
    void give_back(std::unique_ptr<VimSession> session, bool holder);

    // Logs the kept session out (waiting for a caller that has it out until `deadline`).
    void retire(base::Deadline deadline);

    // VM references by UUID, valid across sessions (a reference lives as long as the VM's
    // registration, vCenter restarts included); whoever uses one checks its UUID first.
    std::optional<Moref> vm(const std::string& uuid) const;
    void remember(const std::string& uuid, const Moref& vm);
    void forget(const std::string& uuid);

private:
    const bool keep_;
    mutable std::mutex mutex_;
    std::condition_variable returned_;
    std::unique_ptr<VimSession> kept_;
    bool out_ = false;
    std::map<std::string, Moref> vms_;
};

// One call sequence's session: checked out of the keeper, given back when it ends.
class Lease {
public:
    Lease(SessionKeeper& keeper, base::Deadline wait_until)
        : keeper_(keeper), checkout_(keeper.take(wait_until)) {}
    ~Lease() { keeper_.give_back(std::move(checkout_.session), checkout_.holder); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    VimSession* session() const { return checkout_.session.get(); }
    // The session was kept from an earlier call (not made by this one).
    bool warm() const { return warm_ && checkout_.session; }
    // The session is dead (ended on vCenter's side, or its connection): closed, never kept.
    void drop() { checkout_.session.reset(); }
    void replace(std::unique_ptr<VimSession> fresh) {
        checkout_.session = std::move(fresh);
        warm_ = false;
    }

private:
    SessionKeeper& keeper_;
    SessionKeeper::Checkout checkout_;
    bool warm_ = true;
};

}  // namespace veeamha::fencing::vsphere

// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/vsphere/vsphere_fencer.h"

#include <algorithm>
#include <cctype>

#include "base/log.h"
#include "base/text.h"
#include "fencing/secret_file.h"
#include "fencing/vsphere/session_keeper.h"
#include "fencing/vsphere/vim_session.h"

namespace veeamha::fencing {

using vsphere::ErrorKind;
using vsphere::Lease;
using vsphere::PowerOp;
using vsphere::Step;
using vsphere::VimError;
using vsphere::VimSession;

namespace {

using std::chrono::milliseconds;

// A kept session's check is one small read, which a live vCenter answers in milliseconds: a
// connection that takes longer is taken for dead, and the fence logs in afresh.
constexpr milliseconds kCheckBudget{2000};
// A connection idle longer than this is not reused (the login is): a firewall or NAT may have
// dropped it without a word, and a call on it would wait its whole bound. A new TLS handshake
// costs a few milliseconds.
constexpr auto kIdleReconnect = std::chrono::seconds(60);
// How long a fence waits for the kept session while a fencing check has it (a check takes
// milliseconds); the rest of the fence's time is not the check's to spend.
constexpr milliseconds kMaxFenceLeaseWait{1000};

const char* goal_word(bool off) { return off ? "off" : "on"; }

// vSphere's own words for the state read back, so the log says what vCenter said.
std::string vim_word(PowerState state) {
    switch (state) {
        case PowerState::On: return "poweredOn";
        case PowerState::Off: return "poweredOff";
        case PowerState::Suspended: return "suspended";
        case PowerState::Unknown: break;
    }
    return "an unknown power state";
}

FailureClass classify(const VimError& e) {
    switch (e.kind) {
        case ErrorKind::Timeout:
        case ErrorKind::Unreachable:
        case ErrorKind::ConnectionLost:
        case ErrorKind::Unavailable: return FailureClass::Transient;
        // A NotAuthenticated that reaches a result came on a fresh login (a kept session's is
        // answered with a new login): vCenter does not accept this user's session.
        case ErrorKind::LoginRejected:
        case ErrorKind::NoPermission:
        case ErrorKind::NotAuthenticated: return FailureClass::Credentials;
        default: return FailureClass::Other;
    }
}

FenceResult& failed(FenceResult& r, const VimError& e) {
    r.detail = e.message;
    r.failure = classify(e);
    return r;
}

using base::lower;

// Connects and logs in with the password read right now from its file; the copy is wiped at once.
std::optional<VimError> log_in(VimSession& session, const config::VSphere& settings) {
    auto secret = read_secret_file(settings.password_file);
    if (!secret.ok) {
        VimError e;
        e.kind = ErrorKind::Setup;
        e.step = Step::Login;
        e.message = secret.error;
        return e;
    }
    if (auto e = session.connect()) {
        wipe(secret.secret);
        return e;
    }
    auto e = session.login(secret.secret);
    wipe(secret.secret);
    return e;
}

}  // namespace

struct VSphereFencer::Located {
    vsphere::Moref vm;
    std::optional<PowerState> state;  // read on the way (the check of a cached reference)
};

VSphereFencer::VSphereFencer(config::VSphere settings,
                             std::vector<std::pair<std::string, std::string>> nodes, VimSessions sessions)
    : settings_(std::move(settings)),
      nodes_(std::move(nodes)),
      keeper_(std::make_unique<vsphere::SessionKeeper>(sessions == VimSessions::KeepWarm)) {}

VSphereFencer::~VSphereFencer() = default;

std::string VSphereFencer::describe() const { return "vsphere " + settings_.host; }

std::string VSphereFencer::uuid_label() const {
    return settings_.uuid_kind == config::UuidKind::Instance ? "instance UUID" : "BIOS UUID";
}

std::string VSphereFencer::uuid_for(const std::string& node, std::string* error) const {
    for (const auto& [name, uuid] : nodes_) {
        if (name != node) continue;
        if (uuid.empty()) *error = "node " + node + " has no vm_uuid in the configuration";
        return uuid;
    }
    *error = "node " + node + " is not in the configuration";
    return {};
}

void VSphereFencer::warn_if_insecure() const {
    if (settings_.insecure)
        base::log::warning("fencing: TLS certificate of vCenter " + settings_.host +
                           " is NOT verified (fencing.vsphere.insecure: true); anyone who can "
                           "intercept this connection gets the vCenter password");
}

vsphere::Result<VSphereFencer::Located> VSphereFencer::locate(VimSession& session, const std::string& uuid,
                                                              milliseconds budget) {
    if (auto cached = keeper_->vm(uuid)) {
        // One call proves the session, the connection and the reference, and reads the state.
        auto check = session.check_vm(*cached, settings_.uuid_kind, budget);
        if (check.ok() && lower(check.value().uuid) == lower(uuid))
            return Located{*cached, check.value().state};
        if (!check.ok() && check.error().kind != ErrorKind::NotFound) return check.error();
        keeper_->forget(uuid);  // unregistered, or the reference names another VM now: find it again
    }
    auto vm = session.find_vm(uuid, settings_.uuid_kind);
    if (!vm.ok()) return vm.error();
    keeper_->remember(uuid, vm.value());
    return Located{vm.value(), std::nullopt};
}

vsphere::Result<VSphereFencer::Located> VSphereFencer::open(Lease& lease, const std::string& uuid,
                                                            base::Deadline deadline) {
    if (VimSession* kept = lease.session()) {
        kept->set_deadline(deadline);
        if (kept->idle_for() > kIdleReconnect) kept->reconnect_later();
        auto found = locate(*kept, uuid, kCheckBudget);
        if (found.ok() || !vsphere::session_gone(found.error())) return found;
        base::log::info("fencing: the session kept with vCenter " + settings_.host + " is gone (" +
                        found.error().message + "); logging in again");
        lease.drop();
    }
    auto fresh = std::make_unique<VimSession>(settings_, deadline);
    if (auto e = log_in(*fresh, settings_)) return *e;
    base::log::debug("fencing: logged in to vCenter " + settings_.host + " as " + settings_.username);
    auto found = locate(*fresh, uuid, settings_.call_timeout);
    lease.replace(std::move(fresh));  // kept afterwards even if the VM was not found: the login stays good
    return found;
}

FenceResult VSphereFencer::read_back(Lease& lease, const std::string& uuid, const std::string& label, Goal goal,
                                     base::Deadline deadline, const VimError& why) {
    FenceResult r;
    r.fencer = describe();
    // The timeout or the lost connection (or session), unless the state read says more.
    r.failure = why.kind == ErrorKind::NotAuthenticated ? FailureClass::Transient : classify(why);
    lease.drop();  // its connection or session failed: a new one, and a new login
    auto found = open(lease, uuid, deadline);
    std::optional<vsphere::Result<PowerState>> state;
    if (found.ok()) {
        if (found.value().state)
            state.emplace(*found.value().state);
        else
            state.emplace(lease.session()->power_state(found.value().vm));
    }
    if (!found.ok() || !state->ok()) {
        const VimError& e = found.ok() ? state->error() : found.error();
        r.detail = why.message + "; reading the power state again also failed: " + e.message;
        if (classify(e) == FailureClass::Credentials) r.failure = FailureClass::Credentials;
        return r;
    }
    r.state = state->value();
    r.confirmed = r.state == (goal == Goal::Off ? PowerState::Off : PowerState::On);
    r.failure = r.confirmed ? FailureClass::None : r.failure;
    r.detail = label + ": " + why.message + "; a new connection then read " + vim_word(r.state);
    return r;
}

FenceResult VSphereFencer::power(const std::string& node, Goal goal, base::Deadline deadline) {
    FenceResult r;
    r.fencer = describe();
    r.failure = FailureClass::Other;
    bool want_off = goal == Goal::Off;
    std::string error;
    std::string uuid = uuid_for(node, &error);
    if (uuid.empty()) {
        r.detail = error;
        return r;
    }
    warn_if_insecure();
    std::string label = "VM with " + uuid_label() + " " + uuid + " (node " + node + ")";
    base::log::info("fencing: powering " + std::string(goal_word(want_off)) + " " + label + " through vCenter " +
                    settings_.host);

    auto wait = std::min<base::Clock::duration>(kMaxFenceLeaseWait, base::remaining(deadline) / 4);
    Lease lease(*keeper_, base::Clock::now() + wait);
    auto found = open(lease, uuid, deadline);
    if (!found.ok()) return failed(r, found.error());
    vsphere::Moref vm = found.value().vm;
    label = "VM " + vm.value + " (" + uuid_label() + " " + uuid + ", node " + node + ")";

    const PowerOp op = want_off ? PowerOp::Off : PowerOp::On;
    auto task = lease.session()->start_power_op(vm, op);
    if (!task.ok() && task.error().kind == ErrorKind::NotAuthenticated && lease.warm()) {
        // The kept session ended between its check and the power-off, which vCenter refused
        // (not ran): once more, on a fresh login.
        base::log::info("fencing: the session kept with vCenter " + settings_.host + " ended just now (" +
                        task.error().message + "); logging in again");
        lease.drop();
        found = open(lease, uuid, deadline);
        if (!found.ok()) return failed(r, found.error());
        vm = found.value().vm;
        task = lease.session()->start_power_op(vm, op);
    }

    // Once the power-off was asked for, a kept session that vCenter forgets (ended meanwhile)
    // leaves its outcome unknown, as a lost connection does: a fresh login reads the state.
    const bool warm = lease.warm();
    auto lost = [warm](const VimError& e) {
        return vsphere::outcome_unknown(e) || (warm && e.kind == ErrorKind::NotAuthenticated);
    };
    std::string what_happened;
    if (!task.ok()) {
        const VimError& e = task.error();
        if (e.kind == ErrorKind::InvalidPowerState) {
            what_happened = std::string("was already ") + goal_word(want_off);
        } else if (vsphere::outcome_unknown(e)) {
            return read_back(lease, uuid, label, goal, deadline, e);
        } else {
            return failed(r, e);
        }
    } else {
        auto outcome = lease.session()->wait_task(task.value(), Step::WaitTask);
        if (!outcome.ok()) {
            if (lost(outcome.error()))
                return read_back(lease, uuid, label, goal, deadline, outcome.error());
            return failed(r, outcome.error());
        }
        if (outcome.value().success) {
            what_happened = std::string("powered ") + goal_word(want_off);
        } else if (outcome.value().fault_type == "InvalidPowerState") {
            what_happened = std::string("was already ") + goal_word(want_off);
        } else {
            // The read-back below still decides: the VM may be off despite the error.
            what_happened = "power-" + std::string(goal_word(want_off)) + " task failed (" +
                            (outcome.value().fault_type.empty() ? "no fault type" : outcome.value().fault_type) +
                            (outcome.value().message.empty() ? "" : ": " + outcome.value().message) + ")";
        }
    }

    auto state = lease.session()->power_state(vm);
    if (!state.ok()) {
        VimError e = state.error();
        e.message = what_happened + ", then " + e.message;
        if (lost(state.error())) return read_back(lease, uuid, label, goal, deadline, e);
        failed(r, state.error());
        r.detail = label + ": " + e.message;
        return r;
    }
    r.state = state.value();
    r.confirmed = r.state == (want_off ? PowerState::Off : PowerState::On);
    r.failure = r.confirmed ? FailureClass::None : FailureClass::Other;
    r.detail = label + " on vCenter " + settings_.host + ": " + what_happened + "; read back " +
               vim_word(r.state);
    return r;
}

FenceResult VSphereFencer::off(const std::string& node, base::Deadline deadline) {
    return power(node, Goal::Off, deadline);
}

FenceResult VSphereFencer::on(const std::string& node, base::Deadline deadline) {
    return power(node, Goal::On, deadline);
}

FenceResult VSphereFencer::status(const std::string& node, base::Deadline deadline) {
    FenceResult r;
    r.fencer = describe();
    r.failure = FailureClass::Other;
    std::string error;
    std::string uuid = uuid_for(node, &error);
    if (uuid.empty()) {
        r.detail = error;
        return r;
    }
    warn_if_insecure();
    // A check may wait for a fence that has the kept session, up to half its time: it is in
    // no hurry, and a session of its own would cost vCenter another login.
    Lease lease(*keeper_, base::Clock::now() + base::remaining(deadline) / 2);
    auto found = open(lease, uuid, deadline);
    if (!found.ok()) return failed(r, found.error());
    VimSession& session = *lease.session();
    if (found.value().state) {
        r.state = *found.value().state;
    } else {
        auto state = session.power_state(found.value().vm);
        if (!state.ok()) return failed(r, state.error());
        r.state = state.value();
    }
    session.destroy_old_filters();  // what fences left, now that no failover waits for it
    r.confirmed = true;
    r.failure = FailureClass::None;
    r.detail = "VM " + found.value().vm.value + " (" + uuid_label() + " " + uuid + ", node " + node +
               ") is " + vim_word(r.state);
    return r;
}

ListResult VSphereFencer::list(base::Deadline deadline) {
    ListResult r;
    warn_if_insecure();
    VimSession session(settings_, deadline);
    if (auto e = log_in(session, settings_)) {
        r.error = e->message;
        return r;
    }
    auto vms = session.list_vms();
    session.logout();
    if (!vms.ok()) {
        r.error = vms.error().message;
        return r;
    }
    r.ok = true;
    r.vms = vms.value();
    return r;
}

void VSphereFencer::retire(base::Deadline deadline) {
    keeper_->retire(deadline);
}

}  // namespace veeamha::fencing

// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/vsphere/vsphere_fencer.h"

#include "base/log.h"
#include "fencing/secret_file.h"
#include "fencing/vsphere/vim_session.h"

namespace veeamha::fencing {

using vsphere::ErrorKind;
using vsphere::PowerOp;
using vsphere::Step;
using vsphere::VimError;
using vsphere::VimSession;

namespace {

using vsphere::outcome_unknown;

FailureClass classify(const VimError& e) {
    switch (e.kind) {
        case ErrorKind::Timeout:
        case ErrorKind::Unreachable:
        case ErrorKind::ConnectionLost:
        case ErrorKind::Unavailable: return FailureClass::Transient;
        case ErrorKind::LoginRejected:
        case ErrorKind::NoPermission:
        case ErrorKind::NotAuthenticated: return FailureClass::Credentials;  // on a session just made
        default: return FailureClass::Other;
    }
}

void warn_if_insecure(const config::VSphere& settings) {
    if (settings.insecure)
        base::log::warning("fencing: TLS certificate of vCenter " + settings.host +
                           " is NOT verified (fencing.vsphere.insecure: true); anyone who can "
                           "intercept this connection gets the vCenter password");
}

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

// Logs in with the password read right now from its file; the copy is wiped at once.
std::optional<VimError> open_session(VimSession& session, const config::VSphere& settings) {
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

// Connects, logs in and finds the VM by its UUID; on an error after the login it logs out.
vsphere::Result<vsphere::Moref> open_vm(VimSession& session, const config::VSphere& settings,
                                        const std::string& uuid) {
    if (auto e = open_session(session, settings)) return std::move(*e);
    auto vm = session.find_vm(uuid, settings.uuid_kind);
    if (!vm.ok()) session.logout();
    return vm;
}

}  // namespace

VSphereFencer::VSphereFencer(config::VSphere settings,
                             std::vector<std::pair<std::string, std::string>> nodes)
    : settings_(std::move(settings)), nodes_(std::move(nodes)) {}

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

FenceResult VSphereFencer::read_back(const std::string& uuid, const std::string& label, Goal goal,
                                     base::Deadline deadline, const VimError& why_error) {
    FenceResult r;
    r.fencer = describe();
    r.failure = classify(why_error);
    const std::string& why = why_error.message;
    bool want_off = goal == Goal::Off;
    VimSession session(settings_, deadline);
    std::string failed;
    if (auto vm = open_vm(session, settings_, uuid); !vm.ok()) {
        failed = vm.error().message;
        if (classify(vm.error()) == FailureClass::Credentials) r.failure = FailureClass::Credentials;
    } else if (auto st = session.power_state(vm.value()); !st.ok()) {
        failed = st.error().message;
        if (classify(st.error()) == FailureClass::Credentials) r.failure = FailureClass::Credentials;
    } else {
        r.state = st.value();
        r.confirmed = r.state == (want_off ? PowerState::Off : PowerState::On);
        if (r.confirmed) r.failure = FailureClass::None;
        r.detail = label + ": " + why + "; a new connection then read " + vim_word(r.state);
        session.logout();
        return r;
    }
    r.detail = why + "; reading the power state again also failed: " + failed;
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
    warn_if_insecure(settings_);
    std::string label = "VM with " + uuid_label() + " " + uuid + " (node " + node + ")";
    base::log::info("fencing: powering " + std::string(goal_word(want_off)) + " " + label + " through vCenter " +
              settings_.host);

    VimSession session(settings_, deadline);
    auto vm = open_vm(session, settings_, uuid);
    if (!vm.ok()) {
        r.detail = vm.error().message;
        r.failure = classify(vm.error());
        return r;
    }
    label = "VM " + vm.value().value + " (" + uuid_label() + " " + uuid + ", node " + node + ")";

    std::string what_happened;
    auto task = session.start_power_op(vm.value(), want_off ? PowerOp::Off : PowerOp::On);
    if (!task.ok()) {
        const VimError& e = task.error();
        if (e.kind == ErrorKind::InvalidPowerState) {
            what_happened = std::string("was already ") + goal_word(want_off);
        } else if (outcome_unknown(e)) {
            return read_back(uuid, label, goal, deadline, e);
        } else {
            r.detail = e.message;
            r.failure = classify(e);
            session.logout();
            return r;
        }
    } else {
        auto outcome = session.wait_task(task.value(), Step::WaitTask);
        if (!outcome.ok()) {
            if (outcome_unknown(outcome.error()))
                return read_back(uuid, label, goal, deadline, outcome.error());
            r.detail = outcome.error().message;
            r.failure = classify(outcome.error());
            session.logout();
            return r;
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

    auto state = session.power_state(vm.value());
    if (!state.ok()) {
        VimError e = state.error();
        e.message = what_happened + ", then " + e.message;
        if (outcome_unknown(e)) return read_back(uuid, label, goal, deadline, e);
        r.detail = label + ": " + e.message;
        r.failure = classify(e);
        session.logout();
        return r;
    }
    r.state = state.value();
    r.confirmed = r.state == (want_off ? PowerState::Off : PowerState::On);
    r.failure = r.confirmed ? FailureClass::None : FailureClass::Other;
    r.detail = label + " on vCenter " + settings_.host + ": " + what_happened + "; read back " +
               vim_word(r.state);
    session.logout();
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
    warn_if_insecure(settings_);
    VimSession session(settings_, deadline);
    auto vm = open_vm(session, settings_, uuid);
    if (!vm.ok()) {
        r.detail = vm.error().message;
        r.failure = classify(vm.error());
        return r;
    }
    auto state = session.power_state(vm.value());
    session.logout();
    if (!state.ok()) {
        r.detail = state.error().message;
        r.failure = classify(state.error());
        return r;
    }
    r.state = state.value();
    r.confirmed = true;
    r.failure = FailureClass::None;
    r.detail = "VM " + vm.value().value + " (" + uuid_label() + " " + uuid + ", node " + node +
               ") is " + vim_word(r.state);
    return r;
}

ListResult VSphereFencer::list(base::Deadline deadline) {
    ListResult r;
    warn_if_insecure(settings_);
    VimSession session(settings_, deadline);
    if (auto e = open_session(session, settings_)) {
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

}  // namespace veeamha::fencing

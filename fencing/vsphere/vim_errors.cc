// SPDX-License-Identifier: GPL-2.0-or-later
// Errors half of VimSession: what a failed call was (timeout, lost connection, refused
// certificate, a vim25 fault, ...), in a sentence that names the vCenter, the step and what to
// do. Never the password or the session cookie: neither is ever part of what gSOAP reports.
#include <cstring>

#include "fencing/vsphere/vim_session_impl.h"

namespace veeamha::fencing::vsphere {

const char* to_string(Step step) {
    switch (step) {
        case Step::Resolve: return "resolve host";
        case Step::Connect: return "connect";
        case Step::Login: return "login";
        case Step::FindVm: return "find VM";
        case Step::CheckVm: return "check VM";
        case Step::PowerOff: return "power off";
        case Step::PowerOn: return "power on";
        case Step::Reset: return "reset";
        case Step::WaitTask: return "wait for task";
        case Step::ReadPowerState: return "read power state";
        case Step::ListVms: return "list VMs";
        case Step::Logout: return "logout";
    }
    return "?";
}

bool outcome_unknown(const VimError& e) {
    return e.kind == ErrorKind::Timeout || e.kind == ErrorKind::ConnectionLost ||
           e.kind == ErrorKind::Protocol || e.kind == ErrorKind::Unreachable;
}

bool session_gone(const VimError& e) {
    switch (e.kind) {
        case ErrorKind::NotAuthenticated:
        case ErrorKind::ConnectionLost:
        case ErrorKind::Unreachable:
        case ErrorKind::Unavailable:
        case ErrorKind::Timeout:
        case ErrorKind::Protocol: return true;
        default: return false;
    }
}

namespace {

std::string duration_text(std::chrono::milliseconds d) {
    auto ms = d.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

std::string VimSession::Impl::where() const { return "vCenter " + settings.host; }

VimError VimSession::Impl::error(ErrorKind kind, Step s, std::string message,
                                 std::string fault) const {
    VimError e;
    e.kind = kind;
    e.step = s;
    e.message = std::move(message);
    e.fault_type = std::move(fault);
    return e;
}

VimError VimSession::Impl::failure(Step s) {
    broken = soap->error != SOAP_FAULT;
    std::string at = " at step '" + std::string(to_string(s)) + "'";
    const char* fs = soap_fault_string(soap);
    const char* fd = soap_fault_detail(soap);
    std::string soap_text = fs ? fs : "";
    if (fd && *fd) soap_text += std::string(" (") + fd + ")";
    int err = soap->error;
    if (call_timed_out) {
        bool deadline_hit = near_or_past(deadline);
        std::string bound = call_budget == settings.call_timeout
                                ? "call_timeout " + duration_text(call_budget)
                                : duration_text(call_budget);
        return error(ErrorKind::Timeout, s,
                     where() + " did not answer" + at + " within " +
                         (deadline_hit ? std::string("the fence deadline") : bound));
    }
    if (err == SOAP_SSL_ERROR) {
        std::string seen = presented.empty() ? std::string("no certificate seen")
                                             : "it presented " + presented;
        if (pin_mismatch)
            return error(ErrorKind::Tls, s,
                         "TLS to " + where() + " refused: certificate thumbprint " + presented +
                             " does not match the configured " +
                             format_thumbprint(pin.data(), pin.size()) +
                             " (fencing.vsphere.thumbprint)");
        if (!verify_error.empty())
            return error(ErrorKind::Tls, s,
                         "TLS to " + where() + " refused: certificate not trusted (" + verify_error +
                             (tls_mode == TlsMode::CaFile ? ", ca_file " + settings.ca_file
                                                          : std::string(", system CA store")) +
                             "); " + seen);
        // No verdict on a certificate: cut short before one came (a host going down, a reset),
        // or a TLS disagreement after it (versions, ciphers), which will not heal by itself.
        return error(presented.empty() ? ErrorKind::ConnectionLost : ErrorKind::Tls, s,
                     "TLS handshake with " + where() + " failed" + at + ": " + soap_text + "; " + seen);
    }
    if (err == SOAP_TCP_ERROR)
        return error(ErrorKind::Unreachable, s,
                     "cannot connect to " + where() + " port " + std::to_string(settings.port) + ": " +
                         (soap->errnum ? std::strerror(soap->errnum) : soap_text));
    if (err == SOAP_EOF)
        return error(ErrorKind::ConnectionLost, s, where() + " closed the connection" + at);
    if (err == SOAP_FAULT) {
        // vim25 puts the fault as one element in the detail, typed by xsi:type.
        const soap_dom_element* detail = nullptr;
        if (soap->fault && soap->fault->detail) detail = &soap->fault->detail->__any;
        std::string type = detail ? xsi_type(detail) : "";
        if (type.empty() && detail && detail->name) {  // <NoPermissionFault> without xsi:type
            std::string n = detail->name;
            size_t colon = n.find(':');
            if (colon != std::string::npos) n = n.substr(colon + 1);
            if (n.size() > 5 && n.compare(n.size() - 5, 5, "Fault") == 0) type = n.substr(0, n.size() - 5);
        }
        std::string message = fs ? fs : "";
        if (type == "InvalidLogin")
            return error(ErrorKind::LoginRejected, s,
                         where() + " rejected login for " + settings.username +
                             " (wrong user name or password in " + settings.password_file + ")",
                         type);
        if (type == "NotAuthenticated") {
            logged_in = false;  // never kept, never logged out: it is gone
            return error(ErrorKind::NotAuthenticated, s,
                         where() + " no longer knows the session of " + settings.username + at +
                             " (NotAuthenticated: logged out, expired, ended by an administrator, or "
                             "vCenter restarted)",
                         type);
        }
        if (type == "NoPermission") {
            std::string privilege = text_of(child(detail, "privilegeId"));
            std::string object = text_of(child(detail, "object"));
            return error(ErrorKind::NoPermission, s,
                         where() + " denied " + settings.username + " the privilege " +
                             (privilege.empty() ? std::string("(not named)") : privilege) +
                             (object.empty() ? std::string() : " on " + object) + at +
                             "; give the user a role with it (docs/fencing.md)",
                         type);
        }
        if (type == "InvalidPowerState")
            return error(ErrorKind::InvalidPowerState, s, where() + ": VM already in that power state", type);
        if (type == "ManagedObjectNotFound")
            return error(ErrorKind::NotFound, s, where() + ": object no longer exists" + at, type);
        if (type == "MethodNotFound" || type == "NotSupported" || type == "NotImplemented")
            return error(ErrorKind::Unsupported, s, where() + " does not support the call" + at + " (" + type + ")",
                         type);
        return error(ErrorKind::Fault, s,
                     where() + " returned fault " + (type.empty() ? std::string("(untyped)") : type) +
                         at + (message.empty() ? std::string() : ": " + message),
                     type);
    }
    if (err == 502 || err == 503 || err == 504)
        return error(ErrorKind::Unavailable, s,
                     where() + " answered HTTP " + std::to_string(err) + at +
                         " (its service is not running: starting, restarting or overloaded)");
    if (err >= 100 && err < 600)
        return error(ErrorKind::Protocol, s, where() + " answered HTTP " + std::to_string(err) + at);
    return error(ErrorKind::Protocol, s,
                 "unexpected answer from " + where() + at + ": " +
                     (soap_text.empty() ? "gSOAP error " + std::to_string(err) : soap_text));
}

}  // namespace veeamha::fencing::vsphere

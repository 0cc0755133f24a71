// SPDX-License-Identifier: GPL-2.0-or-later
// One conversation with a vCenter over the vim25 SOAP API: one gSOAP context, one kept-alive TLS
// connection, one login session. Not thread-safe: one thread at a time uses it. A thread makes
// its own for a call sequence, or checks the VSphereFencer's kept one out of its SessionKeeper
// (which hands it from thread to thread under a mutex, never to two at once).
//
// Every call is bounded twice: by `call_timeout` (connect + send + receive of that one call,
// the TLS handshake included) and by the session's overall deadline, whichever comes first. The
// bound is enforced inside the socket hooks, so a vCenter that accepts and never answers, or
// trickles a byte at a time, costs at most that long. gSOAP types never leave this class.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "base/deadline.h"
#include "fencing/fencer.h"

namespace veeamha::fencing::vsphere {

// The step of a fence, named in errors ("timed out at step 'power off'").
enum class Step { Resolve, Connect, Login, FindVm, CheckVm, PowerOff, PowerOn, Reset, WaitTask,
                  ReadPowerState, ListVms, Logout };
const char* to_string(Step step);

enum class ErrorKind {
    Timeout,            // the step did not finish within call_timeout or the deadline
    Unreachable,        // name not resolved, connection refused, no route
    ConnectionLost,     // the connection was closed or reset, the TLS handshake cut short
    Unavailable,        // HTTP 502/503/504: vCenter is up but its service is not (yet)
    Tls,                // the certificate was refused, or TLS could not be set up
    LoginRejected,      // InvalidLogin
    NoPermission,       // NoPermission
    NotAuthenticated,   // the session ended: logged out, expired, terminated, vCenter restarted
    NotFound,           // no VM with that UUID, or a vanished object
    InvalidPowerState,  // the VM already was in the requested state
    Unsupported,        // the method does not exist there (MethodNotFound, NotSupported)
    Fault,              // any other vim25 fault
    Protocol,           // HTTP error, malformed or unexpected answer
    Setup,              // local problem: password file, bad thumbprint in the config
};

struct VimError {
    ErrorKind kind = ErrorKind::Protocol;
    Step step = Step::Connect;
    std::string message;     // a full sentence for the log and the CLI; never a password
    std::string fault_type;  // vim25 fault type, e.g. "NoPermission", when there was one
};

// Whether vCenter may have executed the request although no answer came back (a power-off
// among them): timeouts and lost connections.
bool outcome_unknown(const VimError& e);
// Whether the error says the connection or the session is gone, so that a fresh connection
// and login may well work at once.
bool session_gone(const VimError& e);

struct Moref {
    std::string type;   // "VirtualMachine", "Task"
    std::string value;  // "vm-42"
};

template <class T>
class Result {
public:
    Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit by design
    Result(VimError error) : error_(std::move(error)) {}  // NOLINT
    bool ok() const { return value_.has_value(); }
    const T& value() const { return *value_; }
    const VimError& error() const { return error_; }

private:
    std::optional<T> value_;
    VimError error_;
};

struct TaskOutcome {
    bool success = false;
    std::string fault_type;  // on error: "InvalidPowerState", ...
    std::string message;     // on error: vCenter's localized message
};

enum class PowerOp { Off, On, Reset };

// What one RetrievePropertiesEx says about a VM already found: its power state, and its UUID
// (BIOS or instance, as asked) to prove the reference still names the same VM.
struct VmCheck {
    PowerState state = PowerState::Unknown;
    std::string uuid;
};

class VimSession {
public:
    VimSession(const config::VSphere& settings, base::Deadline deadline);
    ~VimSession();  // closes the connection (logout is explicit)
    VimSession(const VimSession&) = delete;
    VimSession& operator=(const VimSession&) = delete;

    // Resolves the host, opens TLS (verifying as configured) and reads the service content.
    std::optional<VimError> connect();
    std::optional<VimError> login(const std::string& password);
    // Best effort, never fails the caller; skipped when the connection is broken or no time is
    // left.
    void logout();

    // The deadline of the calls from now on: a kept session serves one caller after another.
    void set_deadline(base::Deadline deadline);
    // Logged in, and no call failed in a way that leaves the connection unusable.
    bool usable() const;
    // How long since the last call ended (or since the session was made).
    base::Clock::duration idle_for() const;
    // Closes the connection but keeps the login: the next call connects and TLS-handshakes again
    // and sends the same session cookie. For a connection idle long enough that a firewall or
    // NAT may have dropped it silently: a call on it would wait for its whole time bound.
    void reconnect_later();

    // nullopt-like NotFound error when no VM has that UUID.
    Result<Moref> find_vm(const std::string& uuid, config::UuidKind kind);
    Result<PowerState> power_state(const Moref& vm);
    // The power state and UUID in one call, within `budget` (at most call_timeout): the cheap
    // check that a kept session, its connection and the cached VM reference still work.
    Result<VmCheck> check_vm(const Moref& vm, config::UuidKind kind, std::chrono::milliseconds budget);
    // Starts the task. A vCenter that refuses at once (e.g. InvalidPowerState) gives the error.
    Result<Moref> start_power_op(const Moref& vm, PowerOp op);
    // Waits until the task succeeds or fails, bounded by the deadline: through the property
    // collector (a filter on info.state and info.error, then WaitForUpdatesEx, which vCenter
    // answers as soon as the task changes), so it returns within a round trip of the task's end.
    // Polls only where WaitForUpdatesEx is missing. The filter stays in the session until
    // destroy_old_filters(), off the fence's critical path.
    Result<TaskOutcome> wait_task(const Moref& task, Step step);
    // Destroys the filters wait_task left; best effort, a short time bound.
    void destroy_old_filters();
    // Every VM in the inventory (container view on the root folder, paged).
    Result<std::vector<VmInfo>> list_vms();

    // SHA-256 of the certificate the server presented, "SHA256:AB:CD:...", once a handshake
    // got that far; empty before.
    const std::string& presented_thumbprint() const;
    const std::string& product() const;  // "VMware vCenter Server 6.5.0 build-5973321"

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// "SHA256:AB:CD:..." <-> 32 bytes. Accepts upper or lower case, with or without colons and the
// "SHA256:" prefix; nullopt with a reason for anything else (a SHA-1 thumbprint included).
std::optional<std::vector<unsigned char>> parse_thumbprint(const std::string& text,
                                                           std::string* why);
std::string format_thumbprint(const unsigned char* digest, size_t size);

}  // namespace veeamha::fencing::vsphere

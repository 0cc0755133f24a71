// SPDX-License-Identifier: GPL-2.0-or-later
// The `service` resource kind (docs/design.md §5): a systemd unit driven over D-Bus with sd-bus.
//   start   = Manager.StartUnit(unit, "replace"), wait for the job's JobRemoved signal (the match
//             is installed before the call, so a job that finishes at once is not missed), then
//             read the unit's ActiveState: active -> ok; anything else -> failed, with the job
//             result, the unit's Result and "see: journalctl -u UNIT -n 20".
//   stop    = Manager.StopUnit(unit, "replace"), wait the same way, then inactive/failed -> ok.
//   monitor = ActiveState/SubState: active -> ok, inactive -> not running, failed or anything
//             else (activating auto-restart, deactivating) -> failed with SubState and Result.
// Every bus call and wait is bounded by the operation's deadline. One connection per resource,
// opened on first use and again after a connection error (a restarted dbus-daemon).
#pragma once

#include <mutex>
#include <string>

#include "config/config.h"
#include "base/resource.h"

struct sd_bus;

namespace veeamha::resources::service {

struct ServiceOptions {
    // Empty: the system bus (sd_bus_open_system, which honours DBUS_SYSTEM_BUS_ADDRESS).
    // Otherwise a D-Bus address ("unix:path=/proc/PID/root/run/dbus/system_bus_socket").
    std::string bus_address;
};

// What systemd says about a unit.
struct UnitState {
    std::string load_state;    // loaded, not-found, masked, ...
    std::string active_state;  // active, inactive, failed, activating, deactivating, reloading
    std::string sub_state;     // running, dead, exited, auto-restart, ...
    std::string result;        // success, exit-code, signal, timeout, ... ("" if the type has none)
    std::string describe() const;  // "failed (failed), result exit-code"
};

class ServiceResource final : public base::Resource {
public:
    explicit ServiceResource(config::ServiceSpec spec, ServiceOptions options = {});
    ~ServiceResource() override;
    ServiceResource(const ServiceResource&) = delete;
    ServiceResource& operator=(const ServiceResource&) = delete;

    base::OpResult start(const base::OpContext& ctx) override;
    base::OpResult stop(const base::OpContext& ctx) override;
    base::OpResult monitor(const base::OpContext& ctx) override;

    const config::ServiceSpec& spec() const { return spec_; }

private:
    enum class JobKind { Start, Stop };
    base::OpResult run_job(JobKind kind, base::Deadline deadline);
    base::OpResult monitor_locked(base::Deadline deadline);
    void drop_bus();

    config::ServiceSpec spec_;
    ServiceOptions options_;
    std::mutex mutex_;        // sd-bus objects are not thread-safe
    sd_bus* bus_ = nullptr;   // guarded by mutex_
};

}  // namespace veeamha::resources::service

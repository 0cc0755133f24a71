// SPDX-License-Identifier: GPL-2.0-or-later
// The `service` resource kind (docs/design.md §5): a systemd unit driven over D-Bus with sd-bus.
//   start   = Manager.StartUnit(unit, "replace"), wait for the job's JobRemoved signal (the match
//             is installed before the call, so a job that finishes at once is not missed), then
//             read the unit's ActiveState: active -> ok; anything else -> failed, with the job
//             result, the unit's Result and "see: journalctl -u UNIT -n 20".
//   stop    = Manager.StopUnit(unit, "ignore-dependencies"), wait the same way, then
//             inactive/failed -> ok. Not "replace": the unit is ordered Before= the daemon's own
//             unit (unit_order.h), and while the daemon itself is stopping (systemctl stop,
//             shutdown) a "replace" stop job would wait for the daemon's stop job to finish.
//   monitor = ActiveState/SubState: active -> ok, inactive -> not running, failed or anything
//             else (activating auto-restart, deactivating) -> failed with SubState and Result.
// Start and monitor (the daemon's first probe) first make sure of the shutdown order drop-in
// (unit_order.h) when `order_before` names the daemon's unit, and reload systemd if they wrote
// it; a drop-in that cannot be written is a warning, never a failed operation.
// Every bus call and wait is bounded by the operation's deadline. One connection per resource,
// opened on first use and again after a connection error (a restarted dbus-daemon).
#pragma once

#include <mutex>
#include <string>
#include <utility>

#include "config/config.h"
#include "base/resource.h"
#include "daemon/resources/service/unit_order.h"

struct sd_bus;

namespace veeamha::resources::service {

struct ServiceOptions {
    // Empty: the system bus (sd_bus_open_system, which honours DBUS_SYSTEM_BUS_ADDRESS).
    // Otherwise a D-Bus address ("unix:path=/proc/PID/root/run/dbus/system_bus_socket").
    std::string bus_address;
    // The daemon's own unit ("veeam-had.service"): the unit is ordered Before= it at shutdown.
    // Empty: no order (the daemon runs outside systemd, or a test drives a container's units).
    std::string order_before;
    // Where the order drop-in goes (the systemd host's runtime unit directory).
    std::string unit_dir = kRuntimeUnitDir;

    static ServiceOptions on_bus(std::string address) {
        ServiceOptions o;
        o.bus_address = std::move(address);
        return o;
    }
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
    // Writes the order drop-in if it is missing or different, and reloads systemd when it wrote
    // it or systemd has not loaded it (bounded by `deadline`). Logs what it did or why it
    // could not; never fails the operation.
    void ensure_order(sd_bus* bus, base::Deadline deadline);

    config::ServiceSpec spec_;
    ServiceOptions options_;
    std::mutex mutex_;        // sd-bus objects are not thread-safe
    sd_bus* bus_ = nullptr;   // guarded by mutex_
    bool order_done_ = false;     // the drop-in is in place (guarded by mutex_)
    bool order_warned_ = false;   // its failure was logged once (guarded by mutex_)
};

}  // namespace veeamha::resources::service

// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/resources/service/service_resource.h"

#include <systemd/sd-bus.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.h"
#include "daemon/resources/service/unit_order.h"

namespace veeamha::resources::service {
namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr size_t kMaxRemovedJobs = 4096;  // JobRemoved signals kept while waiting for ours

struct MessageUnref {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;

struct SlotUnref {
    void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using Slot = std::unique_ptr<sd_bus_slot, SlotUnref>;

// An sd_bus_error that frees itself.
struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&e); }
};

// Why a bus step failed: errno-style code and, for a D-Bus error reply, its name and text.
struct CallFailure {
    int code = 0;
    std::string name;
    std::string message;

    bool timed_out() const { return code == -ETIMEDOUT; }
    // The connection is gone (dbus-daemon restarted, socket closed): worth one reconnect.
    bool connection_lost() const {
        return code == -ECONNRESET || code == -ENOTCONN || code == -EPIPE || code == -ESHUTDOWN ||
               code == -ECONNREFUSED || code == -ENOENT;
    }
    std::string text() const {
        if (!name.empty()) return name + ": " + message;
        return std::strerror(-code);
    }
};

CallFailure failure_from(int r, const sd_bus_error& e) {
    CallFailure f;
    f.code = r;
    if (sd_bus_error_is_set(&e)) {
        f.name = e.name ? e.name : "";
        f.message = e.message ? e.message : "";
    }
    return f;
}

uint64_t usec_left(base::Deadline deadline) {
    return static_cast<uint64_t>(base::remaining(deadline).count()) * 1000;
}

// A method call to systemd, bounded by the deadline. `append` adds the arguments.
template <typename Append>
bool call(sd_bus* bus, base::Deadline deadline, const char* path, const char* iface, const char* member,
          Append append, Message& reply, CallFailure& failure) {
    uint64_t left = usec_left(deadline);
    if (left == 0) {  // sd_bus_call treats 0 as "the default timeout"
        failure.code = -ETIMEDOUT;
        return false;
    }
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, kSystemd, path, iface, member);
    Message m(raw);
    if (r >= 0) r = append(m.get());
    if (r < 0) {
        failure.code = r;
        return false;
    }
    BusError error;
    sd_bus_message* reply_raw = nullptr;
    r = sd_bus_call(bus, m.get(), left, &error.e, &reply_raw);
    reply.reset(reply_raw);
    if (r < 0) {
        failure = failure_from(r, error.e);
        return false;
    }
    return true;
}

bool get_string_property(sd_bus* bus, base::Deadline deadline, const std::string& path, const char* iface,
                         const char* property, std::string& value, CallFailure& failure) {
    Message reply;
    if (!call(bus, deadline, path.c_str(), "org.freedesktop.DBus.Properties", "Get",
              [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", iface, property); }, reply,
              failure))
        return false;
    const char* s = nullptr;
    int r = sd_bus_message_read(reply.get(), "v", "s", &s);
    if (r < 0) {
        failure.code = r;
        failure.message = std::string("cannot read property ") + property;
        return false;
    }
    value = s ? s : "";
    return true;
}

// "veeamtransport.service" -> "org.freedesktop.systemd1.Service": the interface that carries
// the unit type's Result property.
std::string type_interface(const std::string& unit) {
    size_t dot = unit.rfind('.');
    if (dot == std::string::npos || dot + 1 >= unit.size()) return {};
    std::string type = unit.substr(dot + 1);
    type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(type[0])));
    return std::string("org.freedesktop.systemd1.") + type;
}

// What an operation ended with, plus whether a reconnect may help.
struct Outcome {
    base::OpResult result;
    bool connection_lost = false;
};

Outcome bus_failure(const std::string& unit, const std::string& step, const CallFailure& f) {
    if (f.timed_out())
        return {base::OpResult::timed_out("unit " + unit + ": " + step + " did not finish before the deadline"), false};
    return {base::OpResult::failed("unit " + unit + ": " + step + ": " + f.text()), f.connection_lost()};
}

// The unit's object path (Manager.LoadUnit: loads it if systemd has not).
bool unit_object(sd_bus* bus, base::Deadline deadline, const std::string& unit, std::string& unit_path,
                 CallFailure& failure) {
    Message reply;
    if (!call(bus, deadline, kManagerPath, kManager, "LoadUnit",
              [&](sd_bus_message* m) { return sd_bus_message_append(m, "s", unit.c_str()); }, reply, failure))
        return false;
    const char* path = nullptr;
    int r = sd_bus_message_read(reply.get(), "o", &path);
    if (r < 0 || !path) {
        failure.code = r < 0 ? r : -EBADMSG;
        failure.message = "LoadUnit returned no object path";
        return false;
    }
    unit_path = path;
    return true;
}

bool read_unit_state(sd_bus* bus, base::Deadline deadline, const std::string& unit, UnitState& state,
                     CallFailure& failure) {
    std::string unit_path;
    if (!unit_object(bus, deadline, unit, unit_path, failure)) return false;
    if (!get_string_property(bus, deadline, unit_path, kUnitIface, "LoadState", state.load_state, failure) ||
        !get_string_property(bus, deadline, unit_path, kUnitIface, "ActiveState", state.active_state, failure) ||
        !get_string_property(bus, deadline, unit_path, kUnitIface, "SubState", state.sub_state, failure))
        return false;
    // Targets, devices and slices have no Result: leave it empty then.
    std::string iface = type_interface(unit);
    CallFailure ignored;
    if (!iface.empty() &&
        !get_string_property(bus, deadline, unit_path, iface.c_str(), "Result", state.result, ignored)) {
        if (ignored.timed_out() || ignored.connection_lost()) {
            failure = ignored;
            return false;
        }
        state.result.clear();
    }
    return true;
}

// Whether systemd has loaded the unit's order drop-in (its DropInPaths name it).
bool dropin_loaded(sd_bus* bus, base::Deadline deadline, const std::string& unit, bool& loaded,
                   CallFailure& failure) {
    std::string unit_path;
    if (!unit_object(bus, deadline, unit, unit_path, failure)) return false;
    Message value;
    if (!call(bus, deadline, unit_path.c_str(), "org.freedesktop.DBus.Properties", "Get",
              [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kUnitIface, "DropInPaths"); }, value,
              failure))
        return false;
    char** paths = nullptr;
    int r = sd_bus_message_enter_container(value.get(), 'v', "as");
    if (r >= 0) r = sd_bus_message_read_strv(value.get(), &paths);
    if (r < 0) {
        failure.code = r;
        failure.message = "cannot read property DropInPaths";
        return false;
    }
    // systemd names the file as it sees it; compare what does not depend on where it is mounted.
    const std::string tail = "/" + unit + ".d/" + kOrderDropinName;
    loaded = false;
    for (char** p = paths; p && *p; ++p) {
        if (std::string_view(*p).ends_with(tail)) loaded = true;
        std::free(*p);
    }
    std::free(paths);
    return true;
}

struct JobWatch {
    std::vector<std::pair<std::string, std::string>> removed;  // job path, result
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
    uint32_t id = 0;
    const char* path = nullptr;
    const char* unit = nullptr;
    const char* result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0 || !path || !result) return 0;
    auto* watch = static_cast<JobWatch*>(userdata);
    if (watch->removed.size() < kMaxRemovedJobs) watch->removed.emplace_back(path, result);
    return 0;
}

std::string journal_hint(const std::string& unit) { return "see: journalctl -u " + unit + " -n 20"; }

}  // namespace

std::string UnitState::describe() const {
    std::string out = active_state + " (" + sub_state + ")";
    if (!result.empty()) out += ", result " + result;
    if (load_state != "loaded" && !load_state.empty()) out += ", load state " + load_state;
    return out;
}

ServiceResource::ServiceResource(config::ServiceSpec spec, ServiceOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {}

ServiceResource::~ServiceResource() { drop_bus(); }

void ServiceResource::drop_bus() {
    if (!bus_) return;
    sd_bus_close(bus_);  // not flush: a dead peer must not block us
    sd_bus_unref(bus_);
    bus_ = nullptr;
}

namespace {

int open_bus(const ServiceOptions& options, sd_bus** out) {
    if (options.bus_address.empty()) return sd_bus_open_system(out);
    sd_bus* bus = nullptr;
    int r = sd_bus_new(&bus);
    if (r < 0) return r;
    if ((r = sd_bus_set_address(bus, options.bus_address.c_str())) < 0 ||
        (r = sd_bus_set_bus_client(bus, 1)) < 0 || (r = sd_bus_start(bus)) < 0) {
        sd_bus_unref(bus);
        return r;
    }
    *out = bus;
    return 0;
}

// sd_bus_call() first waits for the connection's authentication and Hello with sd-bus' own
// timeout (90 s), not the caller's: drive the handshake here, within the deadline.
Outcome wait_until_ready(sd_bus* bus, const std::string& unit, base::Deadline deadline) {
    for (;;) {
        int r = sd_bus_is_ready(bus);
        if (r > 0) return {base::OpResult::ok(), false};
        if (r < 0) return bus_failure(unit, "connecting to the bus", failure_from(r, SD_BUS_ERROR_NULL));
        uint64_t left = usec_left(deadline);
        if (left == 0)
            return {base::OpResult::timed_out("unit " + unit + ": the bus did not complete the connection "
                                        "handshake before the deadline"),
                    false};
        r = sd_bus_process(bus, nullptr);
        if (r < 0) return bus_failure(unit, "connecting to the bus", failure_from(r, SD_BUS_ERROR_NULL));
        if (r > 0) continue;
        r = sd_bus_wait(bus, left);
        if (r < 0 && r != -EINTR)
            return bus_failure(unit, "connecting to the bus", failure_from(r, SD_BUS_ERROR_NULL));
    }
}

// Runs `op(bus)` on the resource's connection, connecting first if needed; after a lost
// connection it reconnects once and tries again within the same deadline.
template <typename Op>
base::OpResult with_bus(sd_bus*& bus, const ServiceOptions& options, const std::string& unit,
                  base::Deadline deadline, Op op) {
    for (int attempt = 0;; ++attempt) {
        if (bus && sd_bus_is_open(bus) <= 0) {
            sd_bus_close(bus);
            bus = sd_bus_unref(bus);
        }
        if (!bus) {
            int r = open_bus(options, &bus);
            if (r < 0) {
                bus = nullptr;
                std::string where = options.bus_address.empty() ? "the system bus" : options.bus_address;
                return base::OpResult::failed("unit " + unit + ": cannot connect to " + where + ": " +
                                        std::strerror(-r));
            }
            sd_bus_set_description(bus, "veeam-had");
        }
        Outcome outcome = wait_until_ready(bus, unit, deadline);
        if (outcome.result.is_ok()) outcome = op(bus);
        if (outcome.result.outcome == base::Outcome::TimedOut) {
            // Replies may still arrive for what we gave up on: start the next operation on a
            // fresh connection.
            sd_bus_close(bus);
            bus = sd_bus_unref(bus);
            return outcome.result;
        }
        if (!outcome.connection_lost || attempt > 0 || base::expired(deadline)) return outcome.result;
        base::log::warning("unit " + unit + ": bus connection lost (" + outcome.result.reason + "), reconnecting");
        sd_bus_close(bus);
        bus = sd_bus_unref(bus);
    }
}

}  // namespace

void ServiceResource::ensure_order(sd_bus* bus, base::Deadline deadline) {
    if (order_done_ || options_.order_before.empty()) return;
    const std::string& unit = spec_.unit;
    const std::string path = order_dropin_path(options_.unit_dir, unit);
    std::string error;
    DropinWrite wrote = ensure_order_dropin(options_.unit_dir, unit, options_.order_before, error);
    // Written now, or written earlier but not loaded (a daemon killed between the two, a reload
    // that failed): systemd must read it.
    bool reload = wrote == DropinWrite::Written;
    if (wrote == DropinWrite::Unchanged) {
        bool loaded = false;
        CallFailure failure;
        if (!dropin_loaded(bus, deadline, unit, loaded, failure)) {
            wrote = DropinWrite::Failed;
            error = "cannot read the unit's DropInPaths: " + failure.text();
        }
        reload = !loaded && wrote != DropinWrite::Failed;
    }
    if (reload) {
        Message reply;
        CallFailure failure;
        if (call(bus, deadline, kManagerPath, kManager, "Reload", [](sd_bus_message*) { return 0; }, reply, failure)) {
            base::log::notice("unit " + unit + ": ordered Before=" + options_.order_before + " at shutdown (" + path +
                              ", systemd reloaded)");
        } else {
            wrote = DropinWrite::Failed;
            error = "wrote " + path + " but the systemd reload failed: " + failure.text();
        }
    }
    if (wrote != DropinWrite::Failed) {
        order_done_ = true;
        return;
    }
    if (order_warned_) return;
    order_warned_ = true;
    base::log::warning("unit " + unit + ": cannot order it Before=" + options_.order_before +
                       " for shutdown: " + error +
                       "; at shutdown systemd may stop it while the daemon hands the group over");
}

base::OpResult ServiceResource::run_job(JobKind kind, base::Deadline deadline) {
    const std::string& unit = spec_.unit;
    const char* method = kind == JobKind::Start ? "StartUnit" : "StopUnit";
    return with_bus(bus_, options_, unit, deadline, [&](sd_bus* bus) -> Outcome {
        if (kind == JobKind::Start) ensure_order(bus, deadline);  // before the match: a reload is no job
        // Subscribe to JobRemoved before asking for the job: a job that completes at once (unit
        // already active, or failing immediately) must not finish unseen. The AddMatch is sent
        // before StartUnit on the same connection, so the bus applies it first.
        JobWatch watch;
        sd_bus_slot* slot_raw = nullptr;
        int r = sd_bus_match_signal_async(bus, &slot_raw, kSystemd, kManagerPath, kManager, "JobRemoved",
                                          on_job_removed, nullptr, &watch);
        Slot slot(slot_raw);
        if (r < 0) return bus_failure(unit, "subscribing to JobRemoved", failure_from(r, SD_BUS_ERROR_NULL));

        Message reply;
        CallFailure failure;
        base::log::info(std::string("unit ") + unit + ": " + method);
        // Stop: see service_resource.h (the order Before= the daemon's unit).
        const char* mode = kind == JobKind::Start ? "replace" : "ignore-dependencies";
        if (!call(bus, deadline, kManagerPath, kManager, method,
                  [&](sd_bus_message* m) { return sd_bus_message_append(m, "ss", unit.c_str(), mode); },
                  reply, failure)) {
            if (kind == JobKind::Stop && failure.name == "org.freedesktop.systemd1.NoSuchUnit")
                return {base::OpResult::ok("unit " + unit + " is not loaded: nothing to stop"), false};
            return bus_failure(unit, method, failure);
        }
        const char* job_raw = nullptr;
        if (sd_bus_message_read(reply.get(), "o", &job_raw) < 0 || !job_raw)
            return {base::OpResult::failed("unit " + unit + ": " + method + " returned no job path"), false};
        const std::string job = job_raw;

        std::string job_result;
        for (;;) {
            bool found = false;
            for (const auto& [path, result] : watch.removed) {
                if (path == job) {
                    job_result = result;
                    found = true;
                }
            }
            if (found) break;
            if (base::expired(deadline))
                return {base::OpResult::timed_out("unit " + unit + ": job " + job + " (" + method +
                                            ") still running at the deadline; " + journal_hint(unit)),
                        false};
            r = sd_bus_process(bus, nullptr);
            if (r < 0) return bus_failure(unit, "waiting for the job", failure_from(r, SD_BUS_ERROR_NULL));
            if (r > 0) continue;
            uint64_t left = usec_left(deadline);
            if (left == 0) continue;  // report the timeout above
            r = sd_bus_wait(bus, left);
            if (r < 0 && r != -EINTR)
                return bus_failure(unit, "waiting for the job", failure_from(r, SD_BUS_ERROR_NULL));
        }
        slot.reset();

        UnitState state;
        if (!read_unit_state(bus, deadline, unit, state, failure))
            return bus_failure(unit, "reading its state", failure);
        if (kind == JobKind::Start) {
            if (job_result == "done" && (state.active_state == "active" || state.active_state == "reloading"))
                return {base::OpResult::ok("unit " + unit + " " + state.describe()), false};
            return {base::OpResult::failed("unit " + unit + " did not start: job " + job_result + ", unit " +
                                     state.describe() + "; " + journal_hint(unit)),
                    false};
        }
        if (state.active_state == "inactive" || state.active_state == "failed")
            return {base::OpResult::ok("unit " + unit + " stopped: " + state.describe()), false};
        return {base::OpResult::failed("unit " + unit + " did not stop: job " + job_result + ", unit " +
                                 state.describe() + "; " + journal_hint(unit)),
                false};
    });
}

base::OpResult ServiceResource::start(const base::OpContext& ctx) {
    std::lock_guard lock(mutex_);
    return run_job(JobKind::Start, ctx.deadline);
}

base::OpResult ServiceResource::stop(const base::OpContext& ctx) {
    std::lock_guard lock(mutex_);
    return run_job(JobKind::Stop, ctx.deadline);
}

base::OpResult ServiceResource::monitor(const base::OpContext& ctx) {
    std::lock_guard lock(mutex_);
    return monitor_locked(ctx.deadline);
}

base::OpResult ServiceResource::monitor_locked(base::Deadline deadline) {
    const std::string& unit = spec_.unit;
    return with_bus(bus_, options_, unit, deadline, [&](sd_bus* bus) -> Outcome {
        ensure_order(bus, deadline);
        UnitState state;
        CallFailure failure;
        if (!read_unit_state(bus, deadline, unit, state, failure))
            return bus_failure(unit, "reading its state", failure);
        const std::string& active = state.active_state;
        if (active == "active" || active == "reloading")
            return {base::OpResult::ok("unit " + unit + " " + state.describe()), false};
        if (active == "inactive") {
            std::string why = "unit " + unit + " " + state.describe();
            if (state.load_state == "not-found") why += ": no such unit file";
            return {base::OpResult::not_running(why), false};
        }
        // A failed unit runs nothing: not running (on a started resource that is a failure all
        // the same), with systemd's result and where to look.
        if (active == "failed")
            return {base::OpResult::not_running("unit " + unit + " " + state.describe() + "; " + journal_hint(unit)), false};
        return {base::OpResult::failed("unit " + unit + " " + state.describe() + "; " + journal_hint(unit)), false};
    });
}

}  // namespace veeamha::resources::service

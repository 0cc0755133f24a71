// SPDX-License-Identifier: GPL-2.0-or-later
// SIGHUP: load the configuration again. If it has any error, keep running with the old one and
// say why. Apply what is safe to change live (policy, fencing, resource timeouts and monitor
// intervals, alerts); name what needs a restart and leave it as it was.
#include <utility>  // before Boost.Asio (Boost 1.74 + C++20)

#include <systemd/sd-daemon.h>

#include "daemon/common/log.h"
#include "daemon/runtime/runtime.h"
#include "fencing/factory.h"
#include "fencing/levels.h"

namespace veeamha::runtime {
namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

std::string spec_text(const config::Resource& r) {
    struct Visitor {
        std::string operator()(const config::LvmSpec& s) const {
            return "lvm " + s.vg + " " + std::to_string(int(s.mode)) + " " + std::to_string(s.partial_allow);
        }
        std::string operator()(const config::FilesystemSpec& s) const {
            return "fs " + s.device + " " + s.mountpoint + " " + s.fstype + " " + s.options + " " +
                   std::to_string(s.deep_check) + " " + std::to_string(int(s.on_busy));
        }
        std::string operator()(const config::IpSpec& s) const {
            return "ip " + s.address.address + "/" + std::to_string(s.address.prefix) + " " +
                   s.interface + " " + s.label + " " + std::to_string(s.garp_count) + " " +
                   std::to_string(s.garp_interval.count()) + " " + std::to_string(s.garp_repeat_after.count());
        }
        std::string operator()(const config::ServiceSpec& s) const { return "service " + s.unit; }
        std::string operator()(const config::ExecSpec& s) const {
            std::string t = "exec";
            for (const auto* v : {&s.start, &s.stop, &s.monitor}) {
                t += " |";
                for (const auto& a : *v) t += " " + a;
            }
            return t;
        }
    };
    return r.name + " " + std::visit(Visitor{}, r.spec);
}

}  // namespace

void Runtime::reload() {
    sd_notify(0, "RELOADING=1");
    log::notice("SIGHUP: reloading " + options_.config_path);
    config::LoadResult loaded = config::load_file(options_.config_path);
    if (!loaded.config) {
        for (const auto& e : loaded.errors) log::error(e.to_string());
        log::error("the new configuration has " + std::to_string(loaded.errors.size()) +
                   " error(s): still running with the previous one");
        sd_notify(0, "READY=1");
        return;
    }
    for (const auto& w : loaded.warnings) log::warning(w.to_string());
    const config::Config& next = *loaded.config;

    std::vector<std::string> restart;
    const auto& c = config_;
    if (next.cluster.name != c.cluster.name) restart.push_back("cluster.name");
    if (next.cluster.key_file != c.cluster.key_file) restart.push_back("cluster.key_file");
    if (next.cluster.state_dir != c.cluster.state_dir) restart.push_back("cluster.state_dir");
    if (next.cluster.admin_socket != c.cluster.admin_socket) restart.push_back("cluster.admin_socket");
    bool http_same = next.cluster.http_listen.has_value() == c.cluster.http_listen.has_value() &&
                     (!next.cluster.http_listen || (next.cluster.http_listen->host == c.cluster.http_listen->host &&
                                                    next.cluster.http_listen->port == c.cluster.http_listen->port));
    if (!http_same) restart.push_back("cluster.http_listen");
    for (size_t i = 0; i < 2; ++i) {
        const auto& a = c.nodes[i];
        const auto& b = next.nodes[i];
        if (a.name != b.name || a.addresses != b.addresses || a.priority != b.priority)
            restart.push_back("nodes[" + std::to_string(i) + "]");
    }
    if (next.heartbeat.port != c.heartbeat.port || next.heartbeat.interval != c.heartbeat.interval ||
        next.heartbeat.timeout != c.heartbeat.timeout)
        restart.push_back("heartbeat");
    bool same_group = next.resources.size() == c.resources.size();
    for (size_t i = 0; same_group && i < c.resources.size(); ++i)
        same_group = next.resources[i].kind == c.resources[i].kind &&
                     spec_text(next.resources[i]) == spec_text(c.resources[i]);
    if (!same_group) restart.push_back("resources (names, kinds or options)");
    if (next.sync != c.sync) restart.push_back("sync");

    // Live: the engine's policy and timings, the fencing chain, alerts.
    config_.policy = next.policy;
    config_.fencing = next.fencing;
    for (size_t i = 0; i < 2; ++i) config_.nodes[i].vm_uuid = next.nodes[i].vm_uuid;
    if (same_group)
        for (size_t i = 0; i < c.resources.size(); ++i) {
            config_.resources[i].start_timeout = next.resources[i].start_timeout;
            config_.resources[i].stop_timeout = next.resources[i].stop_timeout;
            config_.resources[i].monitor_interval = next.resources[i].monitor_interval;
            config_.resources[i].monitor_timeout = next.resources[i].monitor_timeout;
        }
    config_.alerts = next.alerts;
    engine_->reconfigure(config_);
    fencer_ = fencing::make_fence_levels(config_);
    check_fencing();  // a fixed password, UUID or vCenter shows now, not in 5 minutes

    log::notice("configuration reloaded: policy, fencing, resource timeouts and alerts applied" +
                (restart.empty() ? std::string()
                                 : "; these changes need `systemctl restart veeam-had` (one node "
                                   "at a time) and were NOT applied: " + join(restart)));
    sd_notify(0, "READY=1");
}

}  // namespace veeamha::runtime

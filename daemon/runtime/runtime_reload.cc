// SPDX-License-Identifier: GPL-2.0-or-later
// SIGHUP: load the configuration again. If it has any error, keep running with the old one and
// say why. Apply what is safe to change live (policy, fencing, resource timeouts and monitor
// intervals, alerts); name what needs a restart and leave it as it was.
#include <utility>  // before Boost.Asio (Boost 1.74 + C++20)

#include <systemd/sd-daemon.h>

#include "base/log.h"
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

}  // namespace

void Runtime::reload() {
    sd_notify(0, "RELOADING=1");
    base::log::notice("SIGHUP: reloading " + options_.config_path);
    config::LoadResult loaded = config::load_file(options_.config_path);
    if (!loaded.config) {
        for (const auto& e : loaded.errors) base::log::error(e.to_string());
        base::log::error("the new configuration has " + std::to_string(loaded.errors.size()) +
                   " error(s): still running with the previous one");
        last_reload_ = MetricsSnapshot::Stamped{static_cast<double>(now().wall) / 1000.0, false, 0};
        sd_notify(0, "READY=1");
        return;
    }
    for (const auto& w : loaded.warnings) base::log::warning(w.to_string());
    const config::Config& next = *loaded.config;

    // Live: the engine's policy and timings, the fencing chain, alerts.
    std::vector<std::string> restart = config::apply_live_settings(config_, next);
    engine_->reconfigure(config_);
    // The digest covers the whole file (restart-only settings too): what the peer is told now.
    engine_->set_config_digest(config::digest(next));
    if (alerts_) alerts_->configure(config_.alerts);
    std::shared_ptr<fencing::Fencer> old = std::move(fencer_);
    fencer_ = fencing::make_fence_levels(config_);
    // The old one logs its kept vCenter session out on a worker thread (not on this loop, which
    // must not wait for vCenter), so that reloads do not leave sessions behind until they expire.
    if (old) blocking_.run<bool>([old] { old->retire(base::Clock::now() + std::chrono::seconds(5)); return true; },
                                 [](bool) {});
    check_fencing();  // a fixed password, UUID or vCenter shows now, not in 5 minutes

    base::log::notice("configuration reloaded: policy, fencing, resource timeouts and alerts applied" +
                (restart.empty() ? std::string()
                                 : "; these changes need `systemctl restart veeam-had` (one node "
                                   "at a time) and were NOT applied: " + join(restart)));
    last_reload_ = MetricsSnapshot::Stamped{static_cast<double>(now().wall) / 1000.0, true, 0};
    loaded_config_ = next;
    feed(engine::Tick{});  // publishes the new digest now
    schedule_peer_check(std::chrono::seconds(1));
    sd_notify(0, "READY=1");
}

}  // namespace veeamha::runtime

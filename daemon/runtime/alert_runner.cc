// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/alert_runner.h"

#include <ctime>

#include "base/log.h"
#include "base/process.h"
#include "config/event_kinds.h"

namespace veeamha::runtime {

namespace {

// What Pacemaker's agents read as the operation, its result and a node's new state.
struct PacemakerView {
    std::string task, rc = "0", desc;
};

PacemakerView pacemaker_view(const AlertEvent& e, std::string_view cls) {
    PacemakerView v;
    v.desc = e.text;
    const std::string& k = e.kind;
    if (cls == "resource") {
        if (!e.op.empty())  // a failure says which operation failed
            v.task = e.op;
        else if (k == "resource-start" || k == "resource-started" || k == "start-abandoned" || k == "abandoned-returned")
            v.task = "start";
        else if (k == "resource-stop" || k == "resource-stopped")
            v.task = "stop";
        else
            v.task = "monitor";
        if (k == "resource-failed" || k == "monitor-failed" || k == "start-abandoned") v.rc = "1";
    } else if (cls == "fencing") {
        v.task = (k == "powered-on" || k == "power-on-failed") ? "on" : "off";
        if (k == "fence-failed" || k == "power-on-failed" || k == "fence-lied") v.rc = "1";
    } else if (k == "peer-lost" || k == "peer-left" || k == "isolated") {
        v.desc = "lost";  // the words Pacemaker's node alerts use
    } else if (k == "peer-joined" || k == "peer-back" || k == "isolation-ended") {
        v.desc = "member";
    }
    return v;
}

}  // namespace

bool alert_selects(const config::Alert& alert, const AlertEvent& e) {
    if (alert.events.empty())
        return e.level == engine::Level::Error || e.level == engine::Level::Warning || e.kind == "takeover" ||
               e.kind == "fenced" || e.kind == "group-started";
    const std::string_view cls = config::event_class(e.kind);
    for (const auto& want : alert.events)
        if (want == e.kind || want == cls) return true;
    return false;
}

std::vector<std::string> alert_environment(const config::Alert& alert, const AlertEvent& e,
                                           const std::string& cluster, const std::string& local_node,
                                           uint64_t sequence) {
    const std::string_view cls = config::event_class(e.kind);
    const PacemakerView pm = pacemaker_view(e, cls);
    const time_t secs = static_cast<time_t>(e.wall_us / 1000000);
    const long usec = static_cast<long>(e.wall_us % 1000000);
    struct tm local {};
    ::localtime_r(&secs, &local);
    char hms[32];
    std::strftime(hms, sizeof hms, "%H:%M:%S", &local);
    char stamp[48];
    std::snprintf(stamp, sizeof stamp, "%s.%06ld", hms, usec);  // Pacemaker's default format
    return {
        "VEEAMHA_CLUSTER=" + cluster,
        "VEEAMHA_NODE=" + local_node,
        "VEEAMHA_EVENT=" + e.kind,
        "VEEAMHA_TEXT=" + e.text,
        "CRM_alert_version=" VEEAMHA_VERSION,
        "CRM_alert_recipient=" + alert.recipient,
        "CRM_alert_node_sequence=" + std::to_string(sequence),
        "CRM_alert_timestamp=" + std::string(stamp),
        "CRM_alert_timestamp_epoch=" + std::to_string(secs),
        "CRM_alert_timestamp_usec=" + std::to_string(usec),
        "CRM_alert_kind=" + std::string(cls),
        "CRM_alert_node=" + e.node,
        "CRM_alert_nodeid=" + std::to_string(e.node_id),
        "CRM_alert_desc=" + pm.desc,
        "CRM_alert_rsc=" + e.resource,
        "CRM_alert_task=" + pm.task,
        "CRM_alert_rc=" + pm.rc,
        "CRM_alert_status=0",
        "CRM_alert_target_rc=0",
        "CRM_alert_interval=0",
        "CRM_alert_attribute_name=",
        "CRM_alert_attribute_value=",
    };
}

AlertRunner::AlertRunner(boost::asio::io_context& io, std::string cluster, std::string local_node)
    : cluster_(std::move(cluster)), local_node_(std::move(local_node)), runner_(io, kMaxRunning) {}

void AlertRunner::configure(const std::vector<config::Alert>& alerts) {
    std::vector<std::shared_ptr<Program>> next;
    for (const auto& a : alerts) {
        auto p = std::make_shared<Program>();
        p->alert = a;
        // The same program with the same settings keeps its queue across a reload.
        for (auto& old : programs_)
            if (old && old->alert == a) {
                p = old;
                old.reset();
                break;
            }
        next.push_back(p);
    }
    programs_ = std::move(next);
    pump();
}

void AlertRunner::submit(const AlertEvent& e) {
    ++sequence_;
    for (auto& p : programs_) {
        if (!alert_selects(p->alert, e)) continue;
        if (p->queue.size() >= kQueueLimit) {
            p->queue.pop_front();
            ++dropped_;
            if (!reported_drop_) {
                reported_drop_ = true;
                base::log::warning("alerts: " + p->alert.exec + " is not keeping up (" + std::to_string(kQueueLimit) +
                                   " events waiting): its oldest are dropped and counted");
            }
        }
        p->queue.emplace_back(e, sequence_);
    }
    pump();
}

void AlertRunner::pump() {
    for (auto& p : programs_)
        if (!p->running && !p->queue.empty() && running_ < kMaxRunning) start(p);
}

void AlertRunner::start(const std::shared_ptr<Program>& p) {
    auto [event, sequence] = std::move(p->queue.front());
    p->queue.pop_front();
    base::ProcessSpec spec;
    spec.argv = {p->alert.exec, event.kind, event.text};
    spec.extra_env = alert_environment(p->alert, event, cluster_, local_node_, sequence);
    spec.deadline = base::Clock::now() + p->alert.timeout;
    p->running = true;
    ++running_;
    ++runs_;
    bool started = runner_.run<base::ProcessResult>(
        [spec] { return base::run_process(spec); },
        [this, p](base::ProcessResult r) {
            if (!r.success()) base::log::warning("alert " + p->alert.exec + " failed: " + r.describe());
            p->running = false;
            --running_;
            pump();
        });
    if (!started) {  // closed
        p->running = false;
        --running_;
    }
}

void AlertRunner::close() { runner_.close(); }

}  // namespace veeamha::runtime

// SPDX-License-Identifier: GPL-2.0-or-later
// Alert programs (config `alerts`), beside the cluster's work and never in its way: they run on
// threads of their own (at most kMaxRunning programs at once), never in the pool that runs
// resource operations, fences and pings, each run killed at its alert's timeout. Each program
// gets the events it selected one at a time, in the order they happened, from a queue of at most
// kQueueLimit events: when a program hangs, its own queue fills and drops its oldest events
// (counted), and nothing else waits for it.
//
// A program gets veeam-had's own arguments and environment and those of Pacemaker's alert
// agents (CRM_alert_kind, CRM_alert_node, CRM_alert_desc, ...), so that the agents an admin
// already has (the samples in /usr/share/pacemaker/alerts) run unmodified.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/engine/types.h"
#include "daemon/runtime/blocking_runner.h"

namespace veeamha::runtime {

// One event as the alert programs see it.
struct AlertEvent {
    engine::Level level = engine::Level::Info;
    std::string kind;      // peer-lost, fenced, resource-failed, ...
    std::string text;      // the history line
    std::string node;      // the node it is about
    int node_id = 0;       // its position in `nodes` (1 or 2)
    std::string resource;  // the resource it is about, if one
    std::string op;        // start, stop or monitor: the operation a resource event is about, if known
    int64_t wall_us = 0;   // when it happened (unix microseconds)
};

// Whether `alert` wants `e` (its `events`, or the default selection).
bool alert_selects(const config::Alert& alert, const AlertEvent& e);
// The program's environment for `e`: VEEAMHA_* and Pacemaker's CRM_alert_*.
std::vector<std::string> alert_environment(const config::Alert& alert, const AlertEvent& e,
                                           const std::string& cluster, const std::string& local_node,
                                           uint64_t sequence);

class AlertRunner {
public:
    static constexpr size_t kMaxRunning = 4;
    static constexpr size_t kQueueLimit = 64;

    AlertRunner(boost::asio::io_context& io, std::string cluster, std::string local_node);
    AlertRunner(const AlertRunner&) = delete;
    AlertRunner& operator=(const AlertRunner&) = delete;

    // The programs to run from now on (start, reload). Queued events of a program that is no
    // longer configured are dropped (not counted); a run in progress finishes.
    void configure(const std::vector<config::Alert>& alerts);
    // Queues `e` for every program that selects it.
    void submit(const AlertEvent& e);
    // Stops starting programs (shutdown); runs in progress are left to their deadline.
    void close();

    uint64_t dropped() const { return dropped_; }
    uint64_t runs() const { return runs_; }

private:
    struct Program {
        config::Alert alert;
        std::deque<std::pair<AlertEvent, uint64_t>> queue;  // with its sequence number
        bool running = false;
    };
    void pump();
    void start(const std::shared_ptr<Program>& p);

    std::string cluster_, local_node_;
    BlockingRunner runner_;
    std::vector<std::shared_ptr<Program>> programs_;
    size_t running_ = 0;
    uint64_t sequence_ = 0, dropped_ = 0, runs_ = 0;
    bool reported_drop_ = false;
};

}  // namespace veeamha::runtime

// SPDX-License-Identifier: GPL-2.0-or-later
// One host's truth (Cluster::truth: disk mounted, floating IP, repo server) sampled on a thread
// every few tens of milliseconds for as long as the sampler lives: for checks that must hold
// at every instant of a phase ("its daemon never added the floating IP"), where a look at the
// end would miss an address added and removed meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tests/lab/e2e_cluster.h"

namespace veeamha::lab::e2e {

class TruthSampler {
public:
    struct Seen {
        uint64_t samples = 0, mounted = 0, floating_ip = 0, service = 0;
        // When the first and the last sample were taken, and the longest time between two: what
        // the sampler can vouch for ("nothing in this window", up to blind spots of max_gap).
        std::optional<Clock::time_point> first_at, last_at;
        Clock::duration max_gap{};
        // The first sample with anything of the group on the host, and what it was.
        std::optional<Clock::time_point> first_anything;
        std::string first_what;
    };

    // Returns once the first sample is taken: what happens after the constructor is covered.
    TruthSampler(Cluster& c, std::string host, std::chrono::milliseconds period = 20ms)
        : c_(c), host_(std::move(host)), period_(period), thread_([this] { loop(); }) {
        for (auto until = Clock::now() + std::chrono::seconds(10); seen().samples == 0 && Clock::now() < until;)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~TruthSampler() { stop(); }
    TruthSampler(const TruthSampler&) = delete;
    TruthSampler& operator=(const TruthSampler&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    Seen seen() const {
        std::lock_guard<std::mutex> lock(mu_);
        return seen_;
    }

private:
    void loop() {
        while (!stop_) {
            auto started = Clock::now();
            HostTruth t = c_.truth(host_);
            {
                std::lock_guard<std::mutex> lock(mu_);
                ++seen_.samples;
                if (!seen_.first_at) seen_.first_at = started;
                if (seen_.last_at) seen_.max_gap = std::max(seen_.max_gap, started - *seen_.last_at);
                seen_.last_at = started;
                seen_.mounted += t.mounted;
                seen_.floating_ip += t.floating_ip;
                seen_.service += t.service;
                if (t.anything() && !seen_.first_anything) {
                    seen_.first_anything = started;
                    seen_.first_what = std::string(t.mounted ? "mounted " : "") + (t.floating_ip ? "floating-ip " : "") +
                                       (t.service ? "service" : "");
                }
            }
            std::this_thread::sleep_until(started + period_);
        }
    }

    Cluster& c_;
    const std::string host_;
    const std::chrono::milliseconds period_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    Seen seen_;
    std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace veeamha::lab::e2e

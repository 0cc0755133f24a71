// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/announcer.h"

#include <cstring>

#include "base/log.h"

namespace veeamha::net::ip {

std::vector<std::chrono::milliseconds> AnnounceSchedule::offsets() const {
    std::vector<std::chrono::milliseconds> out;
    int n = std::max(count, 1);
    for (int i = 0; i < n; ++i) out.push_back(interval * i);
    if (repeat_after.count() > 0) {
        for (int i = 0; i < n; ++i) out.push_back(repeat_after + interval * i);
    }
    return out;
}

Announcer::Announcer(PacketSocket socket, std::vector<Frame> frames, AnnounceSchedule schedule, std::string what)
    : socket_(std::move(socket)), frames_(std::move(frames)), schedule_(schedule), what_(std::move(what)) {}

Announcer::~Announcer() { stop(); }

int Announcer::send_round() {
    int first_error = 0;
    for (const auto& f : frames_) {
        int err = socket_.send(f);
        if (err && !first_error) first_error = err;
    }
    ++rounds_sent_;
    return first_error;
}

int Announcer::start() {
    auto first = base::Clock::now();
    int err = send_round();
    if (schedule_.offsets().size() > 1) {
        thread_ = std::thread([this, first] { run(first); });
    } else {
        finished_ = true;
    }
    return err;
}

void Announcer::run(base::Clock::time_point first) {
    auto offsets = schedule_.offsets();
    bool warned = false;
    for (size_t i = 1; i < offsets.size(); ++i) {
        std::unique_lock lock(mutex_);
        if (wake_.wait_until(lock, first + offsets[i], [this] { return stopping_; })) break;
        lock.unlock();
        int err = send_round();
        if (err && !warned) {
            base::log::warning("announcing " + what_ + ": " + std::strerror(err));
            warned = true;
        }
    }
    finished_ = true;
}

void Announcer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace veeamha::net::ip

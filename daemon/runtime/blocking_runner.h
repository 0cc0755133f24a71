// SPDX-License-Identifier: GPL-2.0-or-later
// Runs blocking work (mount, lvm2 commands, D-Bus calls, gSOAP) off the event loop and posts the
// result back to it. Each job gets its own thread: a call stuck in the kernel (a mount on a dead
// SAN in D state) can hold only its own thread, never a pool the daemon depends on. The number
// of jobs in flight, stuck ones included, is bounded; past the bound new jobs are refused.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace veeamha::runtime {

class BlockingRunner {
public:
    BlockingRunner(boost::asio::io_context& io, size_t max_in_flight)
        : shared_(std::make_shared<Shared>()), max_(max_in_flight) {
        shared_->io = &io;
    }
    ~BlockingRunner() { close(); }
    BlockingRunner(const BlockingRunner&) = delete;
    BlockingRunner& operator=(const BlockingRunner&) = delete;

    // `job` runs on a new thread; `done(result)` then runs on the io_context's thread, unless
    // the runner was closed meanwhile. Returns false (nothing started) when too many jobs are
    // in flight.
    template <class Result>
    bool run(std::function<Result()> job, std::function<void(Result)> done) {
        {
            std::lock_guard<std::mutex> lock(shared_->mu);
            if (shared_->io == nullptr || shared_->in_flight >= max_) return false;
            ++shared_->in_flight;
        }
        std::thread([shared = shared_, job = std::move(job), done = std::move(done)]() mutable {
            Result result = job();
            std::lock_guard<std::mutex> lock(shared->mu);
            --shared->in_flight;
            if (shared->io)
                boost::asio::post(*shared->io, [done = std::move(done), result = std::move(result)]() mutable {
                    done(std::move(result));
                });
        }).detach();
        return true;
    }

    // A function any thread may call to run `f` on the io_context's thread, unless the runner
    // was closed by then.
    std::function<void(std::function<void()>)> poster() const {
        return [shared = shared_](std::function<void()> f) {
            std::lock_guard<std::mutex> lock(shared->mu);
            if (shared->io) boost::asio::post(*shared->io, std::move(f));
        };
    }

    size_t in_flight() const {
        std::lock_guard<std::mutex> lock(shared_->mu);
        return shared_->in_flight;
    }

    // After this no result is delivered; jobs still running finish on their own threads.
    void close() {
        std::lock_guard<std::mutex> lock(shared_->mu);
        shared_->io = nullptr;
    }

private:
    struct Shared {
        mutable std::mutex mu;
        boost::asio::io_context* io = nullptr;
        size_t in_flight = 0;
    };
    std::shared_ptr<Shared> shared_;
    size_t max_;
};

}  // namespace veeamha::runtime

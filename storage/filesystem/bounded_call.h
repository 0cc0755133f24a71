// SPDX-License-Identifier: GPL-2.0-or-later
// Runs a blocking call that may hang in the kernel (mount, syncfs, a write to a hung filesystem)
// on its own thread and waits for it only until a deadline. A call that overruns is abandoned:
// the thread is detached and finishes (or stays blocked) on its own; it only touches what the
// callable captured by value and the shared state below, so it outlives the resource safely.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "base/deadline.h"

namespace veeamha::storage::filesystem {

// Counts calls that overran their deadline and have not returned yet. A resource keeps one per
// kind of call and refuses to pile up more threads on a filesystem that is already hung.
using HungCalls = std::shared_ptr<std::atomic<int>>;
inline HungCalls make_hung_calls() { return std::make_shared<std::atomic<int>>(0); }

// `on_late_return` runs on the worker thread when an abandoned call returns at last.
template <typename Fn>
auto call_with_deadline(Fn fn, base::Deadline deadline, const HungCalls& hung,
                        std::function<void()> on_late_return = {}) -> std::optional<decltype(fn())> {
    using T = decltype(fn());
    struct State {
        std::mutex mutex;
        std::condition_variable done_cv;
        std::optional<T> result;
        bool abandoned = false;
    };
    auto state = std::make_shared<State>();
    std::thread worker([state, hung, fn = std::move(fn), on_late_return = std::move(on_late_return)]() mutable {
        T value = fn();
        bool late = false;
        {
            std::lock_guard lock(state->mutex);
            state->result = std::move(value);
            late = state->abandoned;
            if (late && hung) --*hung;
            state->done_cv.notify_all();
        }
        if (late && on_late_return) on_late_return();
    });
    worker.detach();
    std::unique_lock lock(state->mutex);
    if (state->done_cv.wait_until(lock, deadline, [&] { return state->result.has_value(); })) {
        return std::move(state->result);
    }
    state->abandoned = true;
    if (hung) ++*hung;
    return std::nullopt;
}

}  // namespace veeamha::storage::filesystem

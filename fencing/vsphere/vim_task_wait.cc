// SPDX-License-Identifier: GPL-2.0-or-later
// Waiting for a vCenter task (PowerOffVM_Task, ...) to end. vCenter tells when it ends: a
// property filter on the task's info.state and info.error, then WaitForUpdatesEx, which
// vCenter holds open until one of them changes. The fence so returns within a round trip of
// the task's end, where polling with a backoff overshoots by up to its last pause (500 ms).
#include <algorithm>
#include <thread>

#include "fencing/vsphere/vim_session_impl.h"

namespace veeamha::fencing::vsphere {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kFilterCleanupBudget{500};
// The polling fallback: 20, 40, 80 ... 500 ms between reads.
constexpr int kMaxTaskPolls = 2000;
constexpr milliseconds kFirstPoll{20};
constexpr milliseconds kMaxPoll{500};

// What the task is known to be so far.
struct TaskState {
    std::string state;  // queued, running, success, error; empty before the first report
    PropValue error;    // info.error, once it is set
};

// The end of the task, an error for a state vCenter should not report, or nullopt while it runs.
std::optional<Result<TaskOutcome>> ended(VimSession::Impl& im, const Moref& task, Step step,
                                         const TaskState& t) {
    if (t.state == "success") return Result<TaskOutcome>(TaskOutcome{true, {}, {}});
    if (t.state == "error") return Result<TaskOutcome>(TaskOutcome{false, t.error.fault_type, t.error.message});
    if (t.state.empty() || t.state == "queued" || t.state == "running") return std::nullopt;
    return Result<TaskOutcome>(im.error(ErrorKind::Protocol, step,
                                        im.where() + " returned task state '" + t.state + "' for " + task.value));
}

Result<Moref> create_task_filter(VimSession::Impl& im, const Moref& task, Step step) {
    _vim25__CreateFilter req;
    req._USCOREthis = to_soap(im.property_collector);
    vim25__PropertySpec ps;
    ps.type = task.type;
    ps.pathSet = {"info.state", "info.error"};
    req.spec.propSet.push_back(ps);
    vim25__ObjectSpec os;
    os.obj = to_soap(task);
    req.spec.objectSet.push_back(os);
    req.partialUpdates = false;
    _vim25__CreateFilterResponse resp;
    auto e = invoke(im, step, [&](struct soap* s, const char* ep) {
        return soap_call___vim25__CreateFilter(s, ep, nullptr, &req, resp);
    });
    std::optional<Moref> filter;
    if (!e && resp.returnval) filter = from_soap(*resp.returnval);
    im.release();
    if (e) return *e;
    if (!filter) return im.error(ErrorKind::Protocol, step, im.where() + " created no property filter");
    return *filter;
}

// Applies what one WaitForUpdatesEx answer says about the task.
std::optional<VimError> apply_updates(VimSession::Impl& im, const vim25__UpdateSet& set, const Moref& filter,
                                      const Moref& task, Step step, TaskState& t) {
    for (const auto& fu : set.filterSet) {
        if (!fu.filter || fu.filter->__item != filter.value) continue;  // another filter of the session
        for (const auto& ou : fu.objectSet) {
            if (!ou.obj || ou.obj->__item != task.value) continue;
            if (ou.kind && *ou.kind == "leave")
                return im.error(ErrorKind::NotFound, step,
                                im.where() + ": task " + task.value + " vanished before it ended");
            for (const auto& change : ou.changeSet) {
                if (!change.name) continue;
                if (*change.name == "info.state") t.state = text_of(&change.val);
                if (*change.name == "info.error") t.error = copy_value(&change.val);
            }
        }
    }
    return std::nullopt;
}

// WaitForUpdatesEx until the task ends. Each call may be held open by vCenter for up to
// call_timeout (whole seconds, never past the deadline) and gets that plus call_timeout to
// answer: a vCenter that stops answering is noticed within twice call_timeout.
Result<TaskOutcome> wait_for_updates(VimSession::Impl& im, const Moref& task, const Moref& filter, Step step) {
    TaskState t;
    std::string version;  // empty: the first call reports the current state at once
    for (;;) {
        auto left = base::remaining(im.deadline);
        if (left.count() <= 0)
            return im.error(ErrorKind::Timeout, step,
                            "task " + task.value + " on " + im.where() + " still " +
                                (t.state.empty() ? std::string("unreported") : t.state) + " at the fence deadline");
        auto wait = std::chrono::duration_cast<seconds>(std::min(left, im.settings.call_timeout));
        int max_wait = static_cast<int>(std::max<seconds::rep>(wait.count(), 1));
        _vim25__WaitForUpdatesEx req;
        req._USCOREthis = to_soap(im.property_collector);
        req.version = &version;
        vim25__WaitOptions options;
        options.maxWaitSeconds = &max_wait;
        req.options = &options;
        _vim25__WaitForUpdatesExResponse resp;
        auto e = invoke(im, step, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__WaitForUpdatesEx(s, ep, nullptr, &req, resp);
        }, seconds(max_wait) + im.settings.call_timeout);
        if (e) {
            im.release();
            // Cut by the fence deadline while vCenter held the call open for the task.
            if (e->kind == ErrorKind::Timeout && base::expired(im.deadline) && !t.state.empty())
                return im.error(ErrorKind::Timeout, step,
                                "task " + task.value + " on " + im.where() + " still " + t.state +
                                    " at the fence deadline");
            return *e;
        }
        std::optional<VimError> bad;
        if (resp.returnval) {  // absent: max_wait passed and nothing changed
            if (resp.returnval->version) version = *resp.returnval->version;
            bad = apply_updates(im, *resp.returnval, filter, task, step, t);
        }
        im.release();
        if (bad) return *bad;
        if (auto end = ended(im, task, step, t)) return *end;
    }
}

// The old way, kept only for a vCenter (or ESXi) without CreateFilter/WaitForUpdatesEx, which
// every version since vSphere 4.1 has: reads the task with a growing pause, so the fence learns
// of the task's end up to one pause late.
Result<TaskOutcome> poll_task(VimSession::Impl& im, const Moref& task, Step step) {
    auto pause = kFirstPoll;
    for (int poll = 0; poll < kMaxTaskPolls; ++poll) {
        auto r = retrieve_one(im, step, task, {"info.state", "info.error"});
        if (!r.ok()) return r.error();
        const auto& props = r.value().props;
        auto state = props.find("info.state");
        if (state == props.end())
            return im.error(ErrorKind::Protocol, step,
                            im.where() + " returned no info.state for task " + task.value);
        TaskState t;
        t.state = state->second.text;
        if (auto err = props.find("info.error"); err != props.end()) t.error = err->second;
        if (auto end = ended(im, task, step, t)) return *end;
        if (base::Clock::now() + pause >= im.deadline)
            return im.error(ErrorKind::Timeout, step,
                            "task " + task.value + " on " + im.where() + " still " + t.state +
                                " at the fence deadline");
        std::this_thread::sleep_for(pause);
        pause = std::min<milliseconds>(pause * 2, kMaxPoll);
    }
    return im.error(ErrorKind::Timeout, step,
                    "task " + task.value + " on " + im.where() + " did not finish after " +
                        std::to_string(kMaxTaskPolls) + " polls");
}

}  // namespace

Result<TaskOutcome> VimSession::wait_task(const Moref& task, Step step) {
    Impl& im = *impl_;
    auto filter = create_task_filter(im, task, step);
    if (!filter.ok()) {
        if (filter.error().kind == ErrorKind::Unsupported) return poll_task(im, task, step);
        return filter.error();
    }
    // Destroyed later (destroy_old_filters, or with the session): not on the fence's way.
    im.old_filters.push_back(filter.value());
    auto outcome = wait_for_updates(im, task, filter.value(), step);
    if (!outcome.ok() && outcome.error().kind == ErrorKind::Unsupported) return poll_task(im, task, step);
    return outcome;
}

void VimSession::destroy_old_filters() {
    Impl& im = *impl_;
    if (!usable() || base::expired(im.deadline)) return;
    while (!im.old_filters.empty()) {
        _vim25__DestroyPropertyFilter req;
        req._USCOREthis = to_soap(im.old_filters.back());
        _vim25__DestroyPropertyFilterResponse resp;
        auto e = invoke(im, Step::WaitTask, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__DestroyPropertyFilter(s, ep, nullptr, &req, resp);
        }, kFilterCleanupBudget);
        im.release();
        if (e && e->kind != ErrorKind::NotFound) return;  // try again next time
        im.old_filters.pop_back();
    }
}

}  // namespace veeamha::fencing::vsphere

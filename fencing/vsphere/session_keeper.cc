// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/vsphere/session_keeper.h"

namespace veeamha::fencing::vsphere {

SessionKeeper::~SessionKeeper() = default;

SessionKeeper::Checkout SessionKeeper::take(base::Deadline wait_until) {
    std::unique_lock lock(mutex_);
    returned_.wait_until(lock, wait_until, [&] { return !out_; });
    if (out_) return {};
    out_ = true;
    return {std::move(kept_), true};
}

void SessionKeeper::give_back(std::unique_ptr<VimSession> session, bool holder) {
    {
        std::lock_guard lock(mutex_);
        if (holder) out_ = false;
        if (keep_ && session && session->usable() && !kept_) kept_ = std::move(session);
    }
    returned_.notify_all();
    // Not kept: end it on vCenter's side (a short call, outside the lock).
    if (session && session->usable()) session->logout();
}

void SessionKeeper::retire(base::Deadline deadline) {
    Checkout c = take(deadline);
    if (c.session) {
        c.session->set_deadline(deadline);
        if (c.session->usable()) c.session->logout();
        c.session.reset();
    }
    {
        std::lock_guard lock(mutex_);
        if (c.holder) out_ = false;
    }
    returned_.notify_all();
}

std::optional<Moref> SessionKeeper::vm(const std::string& uuid) const {
    std::lock_guard lock(mutex_);
    auto it = vms_.find(uuid);
    if (it == vms_.end()) return std::nullopt;
    return it->second;
}

void SessionKeeper::remember(const std::string& uuid, const Moref& vm) {
    std::lock_guard lock(mutex_);
    vms_[uuid] = vm;
}

void SessionKeeper::forget(const std::string& uuid) {
    std::lock_guard lock(mutex_);
    vms_.erase(uuid);
}

}  // namespace veeamha::fencing::vsphere

// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/levels.h"

#include <algorithm>

#include "base/log.h"

namespace veeamha::fencing {

namespace {
// An equal share of what is left for this level and the `left - 1` after it.
base::Deadline share(base::Deadline deadline, size_t left) {
    if (left <= 1) return deadline;
    auto now = base::Clock::now();
    if (deadline <= now) return deadline;
    return now + (deadline - now) / static_cast<long>(left);
}

const char* op_name(int op) {
    static const char* names[] = {"off", "on", "reboot", "status"};
    return names[op];
}

// What the levels' failures add up to: one credentials fault is enough to back off (retrying
// it soon can lock the account); only when every level failed for want of reaching its device
// is the whole fence likely to work again soon.
FailureClass combine(const std::vector<FailureClass>& failures) {
    if (failures.empty()) return FailureClass::Other;
    bool all_transient = true;
    for (FailureClass f : failures) {
        if (f == FailureClass::Credentials) return FailureClass::Credentials;
        // None on a failed result: a fencer that did not classify; it counts as Other.
        if (f != FailureClass::Transient) all_transient = false;
    }
    return all_transient ? FailureClass::Transient : FailureClass::Other;
}
}  // namespace

void FenceLevels::add(std::unique_ptr<Fencer> fencer, std::vector<std::string> nodes) {
    levels_.push_back(Level{std::move(fencer), std::move(nodes)});
}

std::vector<Fencer*> FenceLevels::levels_for(const std::string& node) const {
    std::vector<Fencer*> out;
    for (const auto& l : levels_)
        if (l.nodes.empty() || std::find(l.nodes.begin(), l.nodes.end(), node) != l.nodes.end())
            out.push_back(l.fencer.get());
    return out;
}

std::string FenceLevels::describe() const {
    std::string out;
    for (const auto& l : levels_) out += (out.empty() ? "" : ", ") + l.fencer->describe();
    return out.empty() ? "no fencing levels" : out;
}

FenceResult FenceLevels::attempt(Op op, const std::string& node, base::Deadline deadline) {
    auto levels = levels_for(node);
    FenceResult failed;
    failed.fencer = "fencing levels";
    failed.failure = FailureClass::Other;
    if (levels.empty()) {
        failed.detail = "no fencing level can fence " + node +
                        " (configure fencing.vsphere with the node's vm_uuid, or a level listing it)";
        return failed;
    }
    std::string reasons;
    std::vector<FailureClass> failures;
    std::vector<std::string> skipped;  // levels that failed, for when a later one confirms
    for (size_t i = 0; i < levels.size(); ++i) {
        Fencer* f = levels[i];
        if (base::expired(deadline)) {
            reasons += "; [" + std::to_string(i + 1) + "] " + f->describe() + ": not tried, no time left";
            failures.push_back(FailureClass::Transient);  // out of time, like a timeout
            continue;
        }
        size_t left = levels.size() - i;
        base::Deadline mine = share(deadline, left);
        FenceResult r;
        switch (op) {
            case Op::Off: r = f->off(node, mine); break;
            case Op::On: r = f->on(node, mine); break;
            case Op::Reboot: r = f->reboot(node, mine); break;
            case Op::Status: r = f->status(node, mine); break;
        }
        if (r.confirmed) {
            // The caller says what was confirmed, by whom (the daemon's event, the CLI's line);
            // what failed before it is said only here.
            if (op != Op::Status)
                for (const auto& w : skipped) base::log::warning(w);
            return r;
        }
        skipped.push_back("fencing: level " + std::to_string(i + 1) + " (" + f->describe() + ") did not confirm " +
                          op_name(static_cast<int>(op)) + " of " + node + ": " + r.detail);
        reasons += "; [" + std::to_string(i + 1) + "] " + f->describe() + ": " + r.detail;
        if (r.state != PowerState::Unknown) failed.state = r.state;
        failures.push_back(r.failure);
    }
    // Every level failed: the caller reports the reasons (all of them are in `detail`), once.
    failed.failure = combine(failures);
    failed.detail = std::string(op == Op::Status ? "no level could read the state of " : "fence ") +
                    (op == Op::Status ? node : std::string(op_name(static_cast<int>(op))) + " of " + node +
                                                   " failed at every level") +
                    reasons;
    return failed;
}

FenceResult FenceLevels::off(const std::string& node, base::Deadline deadline) { return attempt(Op::Off, node, deadline); }
FenceResult FenceLevels::on(const std::string& node, base::Deadline deadline) { return attempt(Op::On, node, deadline); }
FenceResult FenceLevels::reboot(const std::string& node, base::Deadline deadline) {
    return attempt(Op::Reboot, node, deadline);
}
FenceResult FenceLevels::status(const std::string& node, base::Deadline deadline) {
    return attempt(Op::Status, node, deadline);
}

ListResult FenceLevels::list(base::Deadline deadline) {
    ListResult failed;
    if (levels_.empty()) {
        failed.error = "no fencing configured (fencing.vsphere or fencing.levels)";
        return failed;
    }
    for (size_t i = 0; i < levels_.size(); ++i) {
        size_t left = levels_.size() - i;
        base::Deadline mine = share(deadline, left);
        ListResult r = levels_[i].fencer->list(mine);
        if (r.ok) return r;
        failed.error += (failed.error.empty() ? "" : "; ") + levels_[i].fencer->describe() + ": " + r.error;
    }
    return failed;
}

void FenceLevels::retire(base::Deadline deadline) {
    for (auto& l : levels_) l.fencer->retire(deadline);
}

}  // namespace veeamha::fencing

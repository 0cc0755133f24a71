// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/status_check.h"

#include <algorithm>
#include <vector>

namespace veeamha::runtime {

const char* to_string(Health h) {
    switch (h) {
        case Health::Ok: return "OK";
        case Health::Warning: return "WARNING";
        case Health::Critical: return "CRITICAL";
        case Health::Unknown: return "UNKNOWN";
    }
    return "UNKNOWN";
}

namespace {

// Problems are said worst first; what is fine is said only when nothing is wrong.
struct Findings {
    Health worst = Health::Ok;
    std::vector<std::pair<Health, std::string>> items;
    void add(Health h, std::string text) {
        if (static_cast<int>(h) > static_cast<int>(worst)) worst = h;
        items.emplace_back(h, std::move(text));
    }
};

}  // namespace

HealthCheck check_health(const wire::Status& st) {
    Findings f;
    const wire::NodeStatus* self = nullptr;
    const wire::NodeStatus* peer = nullptr;
    for (const auto& n : st.nodes()) (n.local() ? self : peer) = &n;
    if (!self || !peer) return health_unknown("the status names no local node or no peer");

    // The group: running on its owner, or not.
    const wire::NodeStatus* owner = nullptr;
    if (st.has_owner())
        for (const auto& n : st.nodes())
            if (n.name() == st.owner()) owner = &n;
    if (!owner) {
        f.add(Health::Critical, "group not running");
    } else if (owner->group() != "started") {
        f.add(owner->group() == "starting" || owner->group() == "stopping" ? Health::Warning : Health::Critical,
              "group " + (owner->has_group() ? owner->group() : std::string("state unknown")) + " on " +
                  owner->name());
    } else {
        f.add(Health::Ok, "group running on " + owner->name());
    }
    for (const auto* n : {self, peer})
        if (n->unclean()) f.add(Health::Critical, n->name() + " unclean (a stop failed)");

    // Redundancy: the peer, every link.
    if (peer->state() == "up")
        f.add(Health::Ok, "peer " + peer->name() + " up");
    else
        f.add(Health::Warning, "peer " + peer->name() + " " + peer->state());
    int down = 0;
    for (const auto& l : peer->links())
        if (!l.up()) ++down;
    if (peer->state() == "up" && down)
        f.add(Health::Warning, std::to_string(down) + " of " + std::to_string(peer->links_size()) + " links down");
    for (const auto* n : {self, peer})
        if (n->standby()) f.add(Health::Warning, n->name() + " in standby");
    if (st.maintenance()) f.add(Health::Warning, "maintenance mode");

    // Fencing: whether the path to the peer works now.
    if (!st.has_fencing())
        f.add(Health::Ok, "fencing not checked yet");
    else if (st.fencing().ok())
        f.add(Health::Ok, "fencing ok");
    else
        f.add(Health::Warning, "fencing FAILING: " + st.fencing().detail());

    // Failures waiting for a cleanup.
    for (const auto& r : st.resources())
        if (r.fail_count()) f.add(Health::Warning, r.name() + " fail count " + std::to_string(r.fail_count()));
    if (!st.failed_actions().empty())
        f.add(Health::Warning, std::to_string(st.failed_actions_size()) + " failed action" +
                                   (st.failed_actions_size() == 1 ? "" : "s") + " (veeam-hactl status)");

    std::stable_sort(f.items.begin(), f.items.end(),
                     [](const auto& a, const auto& b) { return static_cast<int>(a.first) > static_cast<int>(b.first); });
    std::string text;
    for (const auto& [h, item] : f.items) {
        // Where the group runs is always said; the rest of what is fine only when all is.
        if (f.worst != Health::Ok && h == Health::Ok && item.rfind("group ", 0) != 0) continue;
        text += (text.empty() ? "" : ", ") + item;
    }
    return {f.worst, std::string("VEEAMHA ") + to_string(f.worst) + " - " + text};
}

HealthCheck health_unknown(const std::string& why) {
    return {Health::Unknown, std::string("VEEAMHA UNKNOWN - ") + why};
}

}  // namespace veeamha::runtime

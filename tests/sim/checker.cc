// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/sim/checker.h"

#include "tests/sim/world.h"

namespace veeamha::sim {

using namespace veeamha::engine;

namespace {

std::string active_list(const World& w, int node) {
    std::string s;
    for (size_t i = 0; i < w.node(node).active.size(); ++i)
        if (w.node(node).active[i]) s += (s.empty() ? "" : ",") + w.config().resources[i].name;
    return s;
}

}  // namespace

std::string check_world(World& w) {
    for (int i = 0; i < 2; ++i) {
        const SimNode& n = w.node(i);
        if (n.daemon && n.engine && n.engine->holding()) w.node_mut(i).held_at = w.now();
    }
    if (w.any_active(0) && w.any_active(1))
        return "INVARIANT 1 (never active on both): n1 has [" + active_list(w, 0) + "], n2 has [" +
               active_list(w, 1) + "]";

    int runner = w.group_runner();
    if (runner >= 0) {
        if (!w.config().policy.failback && w.last_runner >= 0 && runner != w.last_runner &&
            !w.disrupted[w.last_runner])
            return "INVARIANT 5 (no failback): the group moved from n" +
                   std::to_string(w.last_runner + 1) + " to n" + std::to_string(runner + 1) +
                   " although nothing happened to n" + std::to_string(w.last_runner + 1);
        if (runner != w.last_runner) {
            w.last_runner = runner;
            w.disrupted[0] = w.disrupted[1] = false;
        }
    }
    return {};
}

std::string check_cold_start(World& w, int node) {
    SimNode& n = w.node_mut(node);
    const SimNode& peer = w.node(1 - node);
    const Engine& e = *n.engine;
    std::string who = "n" + std::to_string(node + 1);
    uint64_t epoch = e.persisted().epoch;

    // The peer is unclean (a stop failed there), alive, and has told this node so: it must be
    // fenced first. (A peer that turns unclean unseen, behind a partition, cannot be waited for;
    // if it has anything active, invariant 1 catches it.)
    const PeerView& view = e.peer();
    if (peer.powered && peer.daemon && peer.engine && peer.engine->unclean() &&
        view.membership == Membership::Up && view.have_state && view.state.unclean)
        return "INVARIANT 3 (unclean peer fenced first): " + who +
               " starts the group while its peer is alive and unclean";

    // A restart of the whole group by the same holder under the same epoch (recovery after a
    // failure of the first resource) is not a new acquisition.
    if (epoch == n.last_start_epoch && epoch != 0 &&
        (e.acquired_via() == Acquired::Adopted || n.start_daemon_epoch == n.daemon_epoch))
        return {};

    std::string via = to_string(e.acquired_via());
    if (epoch <= n.last_start_epoch)
        return "INVARIANT 2 (fresh epoch): " + who + " starts the group under epoch " +
               std::to_string(epoch) + ", not newer than " + std::to_string(n.last_start_epoch);
    switch (e.acquired_via()) {
        case Acquired::Grant:
            if (peer.disk.epoch < epoch || peer.disk.owner != e.local_name())
                return "INVARIANT 2 (grant): " + who + " starts under a grant of epoch " +
                       std::to_string(epoch) + " its peer never persisted (peer disk: epoch " +
                       std::to_string(peer.disk.epoch) + " owner '" + peer.disk.owner + "')";
            if (w.any_active(1 - node))
                return "INVARIANT 2 (grant): the granting peer still has resources active";
            break;
        case Acquired::PeerLeft:
            // The peer said it left, and has not held the group since: a process it started
            // since cannot hold it without fencing this node first.
            if (peer.left_at < 0 || peer.held_at > peer.left_at ||
                (peer.daemon && peer.engine && peer.engine->holding()) || w.any_active(1 - node))
                return "INVARIANT 2 (clean release): " + who +
                       " starts because its peer left, but the peer never said so";
            break;
        case Acquired::Fence:
            if (n.confirmed_fences <= n.fences_at_last_start)
                return "INVARIANT 2 (confirmed fence): " + who +
                       " starts after a 'fence' that never powered its peer off";
            break;
        case Acquired::AdminConfirm:
            if (n.admin_confirms <= n.admin_confirms_at_last_start)
                return "INVARIANT 2 (admin confirm): no confirm-fenced was given to " + who;
            break;
        default:
            return "INVARIANT 2: " + who + " starts the group holding it by '" + via +
                   "', which is not a grant, a clean release, a confirmed fence or an admin "
                   "confirm-fenced";
    }
    n.fences_at_last_start = n.confirmed_fences;
    n.admin_confirms_at_last_start = n.admin_confirms;
    n.start_daemon_epoch = n.daemon_epoch;
    return {};
}

}  // namespace veeamha::sim

// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/sim/checker.h"

#include "tests/sim/world.h"

namespace veeamha::sim {

using namespace veeamha::engine;

namespace {

std::string who(int node) { return "n" + std::to_string(node + 1); }

std::string active_list(const World& w, int node) {
    std::string s;
    const SimNode& n = w.node(node);
    for (size_t i = 0; i < n.res.size(); ++i)
        if (n.res[i].active)
            s += (s.empty() ? "" : ",") + n.config.resources[i].name +
                 (n.res[i].origin == Origin::Os ? "(by the OS)" : "");
    return s;
}

// Does `node` know (from its peer's current state) that the peer has something active?
bool knows_peer_active(const Engine& e) {
    const PeerView& v = e.peer();
    if (v.membership != Membership::Up || !v.have_state) return false;
    for (ResourceState r : v.state.resources)
        if (r == ResourceState::Started || r == ResourceState::Starting || r == ResourceState::Stopping ||
            r == ResourceState::StopFailed)
            return true;
    return false;
}

}  // namespace

std::string check_world(World& w) {
    for (int i = 0; i < 2; ++i) {
        const SimNode& n = w.node(i);
        if (n.daemon && n.engine && n.engine->holding()) w.node_mut(i).held_at = w.now();
        if (!w.any_active(i)) w.active_since[i] = -1;
        else if (w.active_since[i] < 0) w.active_since[i] = w.now();
    }
    // (After an unsafe input, a double activation must end once the faults are healed: the
    // liveness phase asks for the group on one node and nothing anywhere else.)
    if (w.any_engine_active(0) && w.any_engine_active(1) && w.unsafe_since < 0)
        return "INVARIANT 1 (never active on both): n1 has [" + active_list(w, 0) + "], n2 has [" +
               active_list(w, 1) + "]";

    // 6. A lie, once the deceived node keeps hearing the process it was told is off, is said.
    if (w.lied_about_incarnation != 0) {
        bool liar_alive = false;
        for (int i = 0; i < 2; ++i)
            liar_alive = liar_alive || (w.node(i).daemon && w.node(i).incarnation == w.lied_about_incarnation);
        // Only the daemon process that was told the lie knows it.
        bool deceived_alive = w.lie_told_to >= 0 && w.node(w.lie_told_to).daemon &&
                              w.node(w.lie_told_to).daemon_epoch == w.lie_told_to_daemon;
        if (!liar_alive || !deceived_alive) {
            w.lied_about_incarnation = 0;
        } else {
            const Millis timeout = w.config().heartbeat.timeout.count();
            bool heard_on = w.lie_heard_since >= 0 && w.now() - w.lie_heard_last <= timeout;
            if (heard_on && w.lie_heard_last - w.lie_heard_since > 4 * timeout &&
                w.counters()["event:fence-lied"] == 0)
                return "INVARIANT 6 (a lying fence is noticed): a process a fence reported off has been heard for " +
                       format_ms(w.lie_heard_last - w.lie_heard_since) + " without a break, and nobody said the fence lied";
        }
    }

    // (After an unsafe input the double holding it caused is resolved by moving the group.)
    int runner = w.group_runner();
    if (runner >= 0 && w.unsafe_since < 0) {
        if (!w.config(runner).policy.failback && w.last_runner >= 0 && runner != w.last_runner &&
            !w.disrupted[w.last_runner])
            return "INVARIANT 5 (no failback): the group moved from n" + std::to_string(w.last_runner + 1) +
                   " to n" + std::to_string(runner + 1) + " although nothing happened to n" +
                   std::to_string(w.last_runner + 1);
        if (runner != w.last_runner) {
            w.last_runner = runner;
            w.disrupted[1 - runner] = false;
            w.disrupted[runner] = w.disrupted_at[runner] >= w.active_since[runner];
        }
    }
    return {};
}

std::string check_start(World& w, int node, const Run& run) {
    SimNode& n = w.node_mut(node);
    const SimNode& peer = w.node(1 - node);
    const Engine& e = *n.engine;
    const std::string me = who(node);
    const std::string name = n.config.resources[run.index].name;
    const uint64_t epoch = e.persisted().epoch;

    // startup_fencing: false takes the group without knowing the peer is down: unsafe by the
    // admin's choice (the acquisition is checked again below).
    if (e.acquired_via() == Acquired::Unsafe && !n.config.policy.startup_fencing && w.unsafe_since < 0)
        w.unsafe_since = w.now();

    // 2. The disk holds what the start depends on (the step's state is written before its actions).
    if (n.disk.epoch != epoch || n.disk.owner != e.local_name())
        return "INVARIANT 2 (persist, then start): " + me + " starts " + name + " under epoch " +
               std::to_string(epoch) + ", but its disk says epoch " + std::to_string(n.disk.epoch) + " owner '" +
               n.disk.owner + "'";

    // 3. Nothing starts while the peer has anything active.
    if (w.unsafe_since < 0 && w.any_engine_active(1 - node))
        return "INVARIANT 3 (nothing starts while the peer has anything active): " + me + " starts " + name +
               " while " + who(1 - node) + " has [" + active_list(w, 1 - node) + "]";
    if (knows_peer_active(e))
        return "INVARIANT 3 (nothing starts while the peer has anything active): " + me + " starts " + name +
               " although its peer's state says something is active there";
    const PeerView& view = e.peer();
    if (peer.powered && peer.daemon && peer.engine && peer.engine->unclean() &&
        view.membership == Membership::Up && view.have_state && view.state.unclean)
        return "INVARIANT 3 (unclean peer fenced first): " + me + " starts " + name + " while its peer is alive and unclean";

    // The rest is about starting the group from cold.
    if (run.index != 0 || w.any_active(node)) return {};
    // A restart of the whole group by the same holder under the same epoch (recovery after a
    // failure of the first resource) is not a new acquisition.
    if (epoch == n.last_start_epoch && epoch != 0 &&
        (e.acquired_via() == Acquired::Adopted || n.start_daemon_epoch == n.daemon_epoch))
        return {};
    std::string via = to_string(e.acquired_via());
    switch (e.acquired_via()) {
        case Acquired::Grant:
            if (peer.disk.epoch < epoch || peer.disk.owner != e.local_name())
                return "INVARIANT 2 (grant): " + me + " starts under a grant of epoch " + std::to_string(epoch) +
                       " its peer never persisted (peer disk: epoch " + std::to_string(peer.disk.epoch) + " owner '" +
                       peer.disk.owner + "')";
            break;
        case Acquired::PeerLeft:
            // The peer said it left, and has not held the group since: a process it started
            // since cannot hold it without this node (unless an unsafe input let it).
            if (peer.left_at < 0 ||
                (w.unsafe_since < 0 && (peer.held_at > peer.left_at || (peer.daemon && peer.engine && peer.engine->holding()))))
                return "INVARIANT 2 (clean release): " + me + " starts because its peer left, but the peer never said so";
            break;
        case Acquired::Fence:
            if (n.confirmed_fences + n.lied_fences <= n.fences_at_last_start)
                return "INVARIANT 2 (confirmed fence): " + me + " starts after a 'fence' that never powered its peer off";
            break;
        case Acquired::PeerOff:
            if (n.off_reads + n.lied_fences <= n.off_reads_at_last_start)
                return "INVARIANT 2 (peer read off): " + me + " starts after reading its peer 'off', but it was never read off while off";
            break;
        case Acquired::AdminConfirm:
            if (n.admin_confirms + n.admin_lies <= n.admin_confirms_at_last_start)
                return "INVARIANT 2 (admin confirm): no confirm-fenced was given to " + me;
            break;
        case Acquired::Unsafe:
            if (n.config.policy.startup_fencing)
                return "INVARIANT 2: " + me + " takes the group unsafely although policy.startup_fencing is on";
            if (w.unsafe_since < 0) w.unsafe_since = w.now();
            break;
        default:
            return "INVARIANT 2: " + me + " starts the group holding it by '" + via +
                   "', which is not a grant, a clean release, a confirmed fence, a peer read off or an admin "
                   "confirm-fenced";
    }
    n.last_start_epoch = epoch;
    n.fences_at_last_start = n.confirmed_fences + n.lied_fences;
    n.off_reads_at_last_start = n.off_reads + n.lied_fences;
    n.admin_confirms_at_last_start = n.admin_confirms + n.admin_lies;
    n.start_daemon_epoch = n.daemon_epoch;
    return {};
}

std::string check_acquisition(World& w, int node) {
    const SimNode& n = w.node(node);
    const Engine& e = *n.engine;
    const std::string me = who(node);
    const uint64_t epoch = e.persisted().epoch;

    if (e.acquired_via() == Acquired::Unsafe && !n.config.policy.startup_fencing && w.unsafe_since < 0)
        w.unsafe_since = w.now();  // startup_fencing: false says so

    // 4. One epoch, one node.
    auto [it, fresh] = w.epochs_taken.emplace(epoch, node);
    if (!fresh && it->second != node)
        return "INVARIANT 4 (an epoch is taken once): " + me + " holds epoch " + std::to_string(epoch) +
               ", which " + who(it->second) + " already took";

    // 7. Adoption is for what this node's daemons started in this boot.
    if (e.acquired_via() == Acquired::Adopted) {
        for (size_t i = 0; i < n.res.size(); ++i) {
            const Activity& a = n.res[i];
            if (a.active && (a.origin != Origin::Engine || a.power_cycle != n.power_cycle))
                return "INVARIANT 7 (adopt only what this boot started): " + me + " adopts " +
                       n.config.resources[i].name + ", which " +
                       (a.origin == Origin::Os ? "the OS started at boot" : "a daemon started before a reboot");
        }
    }

    // 9. Never against what it knows.
    const PeerView& v = e.peer();
    if (v.membership == Membership::Up && v.have_state && v.state.holding && !v.state.unclean)
        return "INVARIANT 9 (never take what the peer is known to hold): " + me + " takes the group (" +
               to_string(e.acquired_via()) + ") while its peer's state says it holds it";
    return {};
}

std::string check_fence_request(World& w, int node) {
    const SimNode& n = w.node(node);
    if (n.heard_peer_at >= n.daemon_started) return {};  // it has heard its peer since it started
    for (const auto& f : w.fences) {
        if (f.by != 1 - node || f.confirmed < 0 || f.confirmed >= n.daemon_started) continue;
        return "INVARIANT 8 (no fence loop): " + who(node) + ", fenced by " + who(1 - node) + " at " +
               format_ms(f.confirmed) + ", fences it back without having heard it since it started at " +
               format_ms(n.daemon_started);
    }
    return {};
}

std::string check_converged(World& w) {
    const SimNode &a = w.node(0), &b = w.node(1);
    if (a.daemon && b.daemon && a.engine && b.engine && a.engine->maintenance() != b.engine->maintenance())
        return std::string("INVARIANT 10 (maintenance converges): after healing n1 says maintenance ") +
               (a.engine->maintenance() ? "on" : "off") + ", n2 says " + (b.engine->maintenance() ? "on" : "off");
    return {};
}

std::string check_settled(World& w) {
    int runner = w.group_runner();
    for (int i = 0; i < 2; ++i)
        if (i != runner && w.any_active(i))
            return "INVARIANT 11 (nothing active but the group's runner): after healing " + who(i) + " still has [" +
                   active_list(w, i) + "]";
    return {};
}

}  // namespace veeamha::sim

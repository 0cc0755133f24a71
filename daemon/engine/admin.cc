// SPDX-License-Identifier: GPL-2.0-or-later
// Admin commands (docs/design.md §3 rule 7). The engine answers for what this node can decide; a command
// about the peer, or a move while the peer runs the group, is answered NotHere and the daemon
// forwards it to the peer over the channel.
#include "daemon/engine/engine.h"

namespace veeamha::engine {
namespace {

Reply refuse(std::string text) { return Reply{0, ReplyCode::Refused, std::move(text)}; }
Reply ok(std::string text) { return Reply{0, ReplyCode::Ok, std::move(text)}; }
Reply not_here(std::string text) { return Reply{0, ReplyCode::NotHere, std::move(text)}; }

}  // namespace

std::optional<Reply> Engine::admin(const AdminCommand& cmd) {
    const std::string& arg = cmd.argument;
    const bool about_peer = arg == peer_name();
    const bool about_self = arg.empty() || arg == local_name();
    auto unknown_node = [&] {
        return refuse("unknown node '" + arg + "': the nodes are " + local_name() + " and " +
                      peer_name());
    };

    switch (cmd.verb) {
        case AdminVerb::Move: {
            if (!arg.empty() && !about_peer && arg != local_name()) return unknown_node();
            if (effective_maintenance()) return refuse("maintenance mode is on: nothing moves until `veeam-hactl maintenance off`");
            if (!holding_) {
                if (peer_holding()) return not_here(peer_name() + " runs the group");
                return refuse("the group is not running on either node; it starts by itself on "
                              "the node that can run it (see `veeam-hactl status`)");
            }
            if (arg == local_name()) return ok("the group already runs on " + local_name());
            if (config_.policy.failback)
                return refuse("policy.failback is true: the group would return to the preferred "
                              "node at once; use `veeam-hactl standby NODE` to keep it away");
            if (!peer_eligible())
                return refuse("cannot move to " + peer_name() + ": it is " +
                              (!peer_up() ? std::string("not reachable")
                               : !peer_.have_state ? std::string("still starting")
                               : peer_.state.standby ? std::string("in standby")
                               : peer_.state.unclean ? std::string("unclean")
                                                     : std::string("not ready (") + to_string(peer_.state.group) + ")"));
            move_away_ = true;
            event(Level::Notice, "move", "admin move: handing the group from " + local_name() +
                                             " to " + peer_name());
            return ok("moving the group to " + peer_name());
        }
        case AdminVerb::Standby:
        case AdminVerb::Unstandby: {
            bool on = cmd.verb == AdminVerb::Standby;
            if (about_peer) return not_here("standby is set on the node itself");
            if (!about_self) return unknown_node();
            if (persisted_.standby == on)
                return ok(local_name() + (on ? " is already in standby" : " is not in standby"));
            persisted_.standby = on;
            dirty_ = true;
            event(Level::Notice, on ? "standby" : "unstandby",
                  local_name() + (on ? " put in standby by the admin: it will not run the group"
                                     : " taken out of standby by the admin"));
            return ok(local_name() + (on ? " is now in standby" : " is no longer in standby"));
        }
        case AdminVerb::MaintenanceOn:
        case AdminVerb::MaintenanceOff: {
            bool on = cmd.verb == AdminVerb::MaintenanceOn;
            persisted_.maintenance = on;
            persisted_.maintenance_version =
                std::max(persisted_.maintenance_version,
                         peer_.have_state ? peer_.state.maintenance_version : 0) + 1;
            dirty_ = true;
            event(Level::Notice, "maintenance",
                  std::string("maintenance mode ") + (on ? "on" : "off") +
                      (on ? ": no node starts, stops, recovers, fences or takes over anything"
                          : ": probing resources and managing them again"));
            if (!on) reprobe_all("maintenance mode ended");
            return ok(std::string("maintenance mode ") + (on ? "on" : "off") + " (cluster-wide)");
        }
        case AdminVerb::Cleanup: {
            for (size_t i = 0; i < res_.size(); ++i)
                if (res_[i].abandoned_op)
                    return refuse("the start of " + config_.resources[i].name +
                                  " left running at its deadline has not returned: it may still take effect, "
                                  "so this node cannot be made clean. Wait for it, or reboot this node "
                                  "(its peer then takes the group over)");
            bool found = arg.empty();
            for (size_t i = 0; i < res_.size(); ++i) {
                if (!arg.empty() && config_.resources[i].name != arg) continue;
                found = true;
                persisted_.failures[i].clear();
                res_[i].last_error.clear();
                res_[i].last_error_wall = 0;
                std::erase_if(failed_actions_, [i](const FailedAction& f) { return f.index == i; });
            }
            if (!found) return refuse("unknown resource '" + arg + "'");
            dirty_ = true;
            bool was_unclean = unclean_;
            unclean_ = false;
            persisted_.unclean = false;
            if (was_unclean) {
                for (auto& r : res_)
                    if (r.state == ResourceState::StopFailed) r.state = ResourceState::Unknown;
            }
            reprobe_all(arg.empty() ? "cleanup" : "cleanup of " + arg);
            event(Level::Notice, "cleanup",
                  "admin cleanup" + (arg.empty() ? std::string(" of all resources") : " of " + arg) +
                      (was_unclean ? ": unclean state cleared" : ""));
            return ok("fail counts reset" + std::string(was_unclean ? " and unclean state cleared" : "") +
                      "; resources are probed again");
        }
        case AdminVerb::ConfirmFenced: {
            if (arg.empty()) return refuse("confirm-fenced needs the name of the node that is off");
            if (arg == local_name()) return refuse("a node cannot confirm itself fenced; run it on " + peer_name());
            if (!about_peer) return unknown_node();
            if (peer_up())
                return refuse(peer_name() + " is alive and talking (heard " +
                              format_ms(now_.mono - peer_last_heard()) +
                              " ago): confirm-fenced is only for a node that is down" +
                              (peer_.have_state && peer_.state.unclean
                                   ? "; it is unclean: power it off (then confirm-fenced), or fix what "
                                     "failed to stop and run `veeam-hactl cleanup` on it"
                                   : ""));
            if (confirm_request_) return refuse("a confirm-fenced is already waiting for its power check");
            // The admin's word is taken only if no fencer can read the peer as powered on: a
            // mistaken confirm-fenced for a running node is how a group ends up on both.
            fence_.op_id = next_op_id();  // a fence in flight is superseded; its result is ignored
            fence_.action = FenceAction::Check;
            fence_.guard = now_.mono + ms(config_.fencing.timeout) + 5000;
            confirm_request_ = cmd.request_id;
            act(Fence{*fence_.op_id, peer_name(), FenceAction::Check, ms(config_.fencing.timeout),
                      "the admin says " + peer_name() + " is off (confirm-fenced): reading its power"});
            return std::nullopt;
        }
    }
    return refuse("unknown command");
}

}  // namespace veeamha::engine

// SPDX-License-Identifier: GPL-2.0-or-later
// Compares the facts of both nodes (host_facts.h) item by item: `ok`, `different` with the
// command that fixes it and where, or `unknown` when a node could not read the item. Pure: the
// daemon's periodic check, `veeam-hactl check --peer` and the tests share it.
//
// Fixes make the other node like the reference: the node that runs the group (what Veeam's
// server talks to now), or the local node when neither does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

// Every item kind compare_hosts reports (PeerCheckItem.kind), for the metric's labels.
inline constexpr const char* kPeerCheckKinds[] = {"version", "config",  "sync",    "ssh-host-key", "user",
                                                  "group",   "unit",    "unit-boot", "package",    "lvm",
                                                  "time-sync", "clock-offset", "xfs"};

// Beyond this the clocks differ (Veeam's jobs and logs on the two nodes would disagree).
inline constexpr double kMaxClockOffsetMs = 1000;

// `offset_ms`: the peer's clock minus the local one, if measured.
std::vector<wire::PeerCheckItem> compare_hosts(const wire::HostFacts& local, const wire::HostFacts& peer,
                                               std::optional<double> offset_ms);

// One line: "ITEM: ok (DETAIL)", "ITEM: different: DETAIL; fix: FIX", "ITEM: unknown (DETAIL)".
std::string format_item(const wire::PeerCheckItem& item);
// The lines of a whole check, and the first line when the peer could not be asked.
std::string format_peer_check(const wire::PeerCheck& check);

// `veeam-hactl check --peer`'s exit code: 0 every item ok or unknown, 1 something differs,
// 3 the comparison could not be made (the peer unreachable or not answering).
int peer_check_exit_code(const wire::PeerCheck& check);

}  // namespace veeamha::runtime

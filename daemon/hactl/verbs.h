// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-hactl's verbs (docs/design.md §8), one table. A verb is a function of the invocation that
// returns the exit code.
//
// Adding a verb: write `int hactl_NAME(const Invocation&)` and put it in the table in verbs.cc.
#pragma once

#include <string>
#include <vector>

namespace veeamha::hactl {

struct Invocation {
    std::string program = "veeam-hactl";
    std::string config_path;    // --config FILE, else /etc/veeam-ha.yaml
    bool config_given = false;  // --config was on the command line
    std::string node_override;  // --node NAME, else "" (the host name decides)
    std::string verb;
    std::vector<std::string> args;  // what follows the verb, without --config/--node
};

using VerbFunction = int (*)(const Invocation&);

struct Verb {
    const char* name;
    const char* usage;    // the arguments, e.g. "on|off"
    const char* summary;  // one line for --help
    VerbFunction run;
};

const std::vector<Verb>& verbs();
const Verb* find_verb(const std::string& name);

// The verbs built so far.
int hactl_check(const Invocation& invocation);   // check.cc
int hactl_keygen(const Invocation& invocation);  // keygen.cc
// admin_verbs.cc: through the daemon's admin socket, and `fence` (fence_verbs.cc).
int hactl_status(const Invocation& invocation);
int hactl_move(const Invocation& invocation);
int hactl_standby(const Invocation& invocation);  // standby and unstandby
int hactl_maintenance(const Invocation& invocation);
int hactl_cleanup(const Invocation& invocation);
int hactl_confirm_fenced(const Invocation& invocation);
int hactl_history(const Invocation& invocation);
int hactl_check_peer(const Invocation& invocation);  // check --peer
int hactl_fence(const Invocation& invocation);
int hactl_import_pcs(const Invocation& invocation);  // import_pcs.cc


}  // namespace veeamha::hactl

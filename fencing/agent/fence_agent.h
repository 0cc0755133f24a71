// SPDX-License-Identifier: GPL-2.0-or-later
// Runs a standard fence agent (fence-agents: fence_ipmilan, fence_idrac, fence_ilo4, ...) for
// physical hosts, with the protocol every agent understands: no command-line arguments, one
// `key=value` per line on stdin (action=off|on|reboot|status|list, ip, username, password,
// lanplus, ssl, plug, ...). The password comes from `password_file` at the moment of use and is
// written only to the agent's stdin: never to its command line, never to the log.
//
// The confirmation rule is the vSphere fencer's: `off` succeeds only when a following `status`
// reports off (exit code 2, the fence-agents convention; 0 = on), whatever `off` itself said.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "base/process.h"
#include "fencing/fencer.h"

namespace veeamha::fencing::agent {

class FenceAgentFencer : public Fencer {
public:
    explicit FenceAgentFencer(config::FenceLevel level);

    FenceResult off(const std::string& node, base::Deadline deadline) override;
    FenceResult on(const std::string& node, base::Deadline deadline) override;
    // Off (confirmed by status), then on; `confirmed` means the off was confirmed.
    // `confirmed` = the agent's status was read; `state` holds it.
    FenceResult status(const std::string& node, base::Deadline deadline) override;
    // The agent's `list` output (plug,alias per line), as VmInfo names.
    ListResult list(base::Deadline deadline) override;
    std::string describe() const override;

    // Whether this level may fence `node` (its `nodes` list; empty = every node).
    bool handles(const std::string& node) const;

private:
    struct Run {
        bool started = false;
        base::ProcessResult process;
        std::string error;  // could not even run: not found, bad argument, password file
    };
    Run run(const std::string& action, base::Deadline deadline) const;
    FenceResult power(const std::string& node, bool want_off, base::Deadline deadline);

    config::FenceLevel level_;
};

// Reads the power state from a `status` run: exit 0 = on, 2 = off; a "Status: ON|OFF" line
// that contradicts the exit code makes it Unknown. `why` explains an Unknown.
PowerState parse_agent_status(const base::ProcessResult& status, std::string* why);

// Whether a run failed for want of reaching the device: it timed out, or the agent said it
// could not connect (fence-agents' "Unable to connect/login", "Connection timed out",
// "Connection lost") and not that the login was refused. Such a fence is Transient.
bool agent_unreachable(const base::ProcessResult& run);
// Whether the output says the device refused the login (ipmitool's "Unauthorized name", ssh's
// "Permission denied", "Authentication failed", ...): Credentials, retried slowly.
bool agent_login_refused(const base::ProcessResult& run);
// Credentials, Transient or Other for a failed run.
FailureClass agent_failure_class(const base::ProcessResult& run);
// What to check, for failures whose words mislead (" (...)"), or "".
std::string agent_hint(const base::ProcessResult& run);

// The lines of an agent's output that mean something to an admin, the last `keep` of them:
// without Python's warnings about the agent's own code (a DeprecationWarning and the source
// line it quotes), blank lines and log timestamps; an ignored "key=value" keeps only its key.
std::vector<std::string> agent_messages(const std::string& output, size_t keep);
// "exit 1: ERROR: Failed: ... | ...", "timed out: ...": the run's end and its messages.
std::string describe_agent_run(const base::ProcessResult& run);
// The keys of "Parse error: Ignoring unknown option 'key=value'" lines (fence-agents go on
// without the option).
std::vector<std::string> ignored_options(const base::ProcessResult& run);

// The option names an agent accepts, from its metadata (`-o metadata`, the XML every
// fence-agents agent prints: resource-agent/parameters/parameter@name).
struct AgentParameters {
    bool ok = false;
    std::vector<std::string> names;
    std::string error;
};
AgentParameters agent_parameters(const std::string& agent, base::Deadline deadline);
// The problems of a level's args against those names: "usrname: not an option of fence_ipmilan;
// did you mean username?". password_file is veeam-had's own (it becomes `password`).
std::vector<std::string> check_level_args(const config::FenceLevel& level, const std::vector<std::string>& names);

// Where the agent's executable is: an absolute path as given, else PATH, /usr/sbin, /sbin.
// Empty when not found.
std::string find_agent(const std::string& agent);

}  // namespace veeamha::fencing::agent

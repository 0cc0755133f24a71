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
#include "fencing/agent/agent_metadata.h"
#include "fencing/agent/agent_output.h"
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

// Where the agent's executable is: an absolute path as given, else PATH, /usr/sbin, /sbin.
// Empty when not found.
std::string find_agent(const std::string& agent);

}  // namespace veeamha::fencing::agent

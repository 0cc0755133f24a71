// SPDX-License-Identifier: GPL-2.0-or-later
// What a fence agent's run means to an admin and to the retry pacing: its meaningful lines
// (not Python's warnings about the agent itself), the options it ignored, whether the device
// refused the login or could not be reached, and a hint where the agent's words mislead.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "base/process.h"
#include "fencing/fencer.h"

namespace veeamha::fencing::agent {

// Whether stdout or stderr contains one of the (lower-case) phrases, in any case.
bool agent_says(const base::ProcessResult& run, std::initializer_list<const char*> phrases);

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

}  // namespace veeamha::fencing::agent

// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/agent/agent_output.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "base/text.h"

namespace veeamha::fencing::agent {

namespace {

using base::lower;
using base::trim;

bool says(const base::ProcessResult& run, std::initializer_list<const char*> phrases) {
    std::string said = lower(run.out + "\n" + run.err);
    for (const char* words : phrases)
        if (said.find(words) != std::string::npos) return true;
    return false;
}

// "2026-12-02 05:38:20,893 ERROR: Failed: ..." -> "ERROR: Failed: ..."; "ERROR:root:x" -> "ERROR: x".
std::string without_log_prefix(std::string line) {
    if (line.size() > 24 && std::isdigit(static_cast<unsigned char>(line[0])) && line[4] == '-' && line[10] == ' ' &&
        line[23] == ' ')
        line = line.substr(24);
    for (const char* level : {"ERROR", "WARNING", "INFO", "DEBUG", "CRITICAL"}) {
        std::string prefix = std::string(level) + ":root:";
        if (line.rfind(prefix, 0) == 0) line = std::string(level) + ": " + line.substr(prefix.size());
    }
    return line;
}

constexpr const char* kIgnoredOption = "parse error: ignoring unknown option '";

}  // namespace

bool agent_says(const base::ProcessResult& run, std::initializer_list<const char*> phrases) { return says(run, phrases); }

std::vector<std::string> agent_messages(const std::string& text, size_t keep) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    bool skip_quoted_source = false;
    while (std::getline(in, line)) {
        // Python's warnings about the agent's own code ("...py:5: DeprecationWarning: 'pipes' is
        // deprecated", then the quoted source line, indented): noise to an admin, and on a
        // timeout the only line there was.
        if (skip_quoted_source && !line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            skip_quoted_source = false;
            continue;
        }
        skip_quoted_source = false;
        if (line.find("Warning: ") != std::string::npos &&
            (line.find("DeprecationWarning") != std::string::npos || line.find("SyntaxWarning") != std::string::npos ||
             line.find("FutureWarning") != std::string::npos)) {
            skip_quoted_source = true;
            continue;
        }
        line = trim(without_log_prefix(trim(line)));
        if (line.empty()) continue;
        // The agent quotes the whole "key=value" it ignored: keep the key, never the value (a
        // misspelt password key would carry the password).
        size_t at = lower(line).find(kIgnoredOption);
        if (at != std::string::npos) {
            std::string rest = line.substr(at + std::string(kIgnoredOption).size());
            line = line.substr(0, at) + "Parse error: Ignoring unknown option '" + rest.substr(0, rest.find_first_of("='")) + "'";
        }
        // Agents log an error to stderr and print it again on stdout: say it once.
        if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
    }
    if (lines.size() > keep) lines.erase(lines.begin(), lines.end() - static_cast<long>(keep));
    return lines;
}

std::string describe_agent_run(const base::ProcessResult& run) {
    std::string what;
    switch (run.ended) {
        case base::ProcessResult::Ended::Exited: what = "exit " + std::to_string(run.exit_code); break;
        case base::ProcessResult::Ended::Signaled: what = "killed by signal " + std::to_string(run.signal); break;
        case base::ProcessResult::Ended::TimedOut: what = "timed out"; break;
        case base::ProcessResult::Ended::CouldNotStart: return "could not start: " + run.error;
    }
    std::string said;
    // stderr carries the agent's errors; stdout its results ("Status: ON") and notices.
    for (const auto& l : agent_messages(run.err + "\n" + run.out, 3)) said += (said.empty() ? "" : " | ") + l;
    return said.empty() ? what : what + ": " + said;
}

std::vector<std::string> ignored_options(const base::ProcessResult& run) {
    std::vector<std::string> keys;
    std::istringstream in(run.err + "\n" + run.out);
    std::string line;
    while (std::getline(in, line)) {
        size_t at = lower(line).find(kIgnoredOption);
        if (at == std::string::npos) continue;
        std::string rest = line.substr(at + std::string(kIgnoredOption).size());
        std::string key = rest.substr(0, rest.find_first_of("='"));
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
    return keys;
}

bool agent_login_refused(const base::ProcessResult& run) {
    if (run.ended != base::ProcessResult::Ended::Exited || run.exit_code == 0) return false;
    // What agents and the tools under them print when the device answered and refused the
    // login (ipmitool, ssh, telnet, the HTTP ones). Not "Unable to connect/login": fence-agents
    // print that for an unreachable device too.
    return says(run, {"unauthorized name", "invalid user name", "password invalid", "invalid password",
                      "incorrect password", "authentication failed", "authentication failure", "login failed",
                      "login incorrect", "invalid login", "rakp 2 hmac is invalid", "bad password",
                      "permission denied (publickey", "401 unauthorized", "access denied"});
}

bool agent_unreachable(const base::ProcessResult& run) {
    if (run.ended == base::ProcessResult::Ended::TimedOut) return true;
    if (run.ended != base::ProcessResult::Ended::Exited || run.exit_code == 0) return false;
    if (agent_login_refused(run)) return false;
    // fence-agents end every failure with exit code 1 and say which in a line of their own.
    // "Unable to connect/login" alone cannot tell a refused login from a silent device; unless
    // the output says the login was refused (agent_login_refused), it counts as unreachable.
    // "Timed out waiting to power OFF" is a device that answered: not here.
    return says(run, {"unable to connect", "connection timed out", "connection lost", "connection refused"});
}

std::string agent_hint(const base::ProcessResult& run) {
    if (agent_login_refused(run)) return " (the device refused the login: check username and password_file)";
    // fence_ipmilan says only this when ipmitool could not open a session: a wrong username or
    // password, privilege level or cipher suite as much as a wrong plug.
    if (says(run, {"unable to obtain correct plug status"}))
        return " (fence_ipmilan says this for a wrong username or password too: check username and password_file, "
               "then lanplus, privlvl and cipher)";
    return "";
}

FailureClass agent_failure_class(const base::ProcessResult& run) {
    if (agent_login_refused(run)) return FailureClass::Credentials;
    if (agent_unreachable(run)) return FailureClass::Transient;
    return FailureClass::Other;
}

}  // namespace veeamha::fencing::agent

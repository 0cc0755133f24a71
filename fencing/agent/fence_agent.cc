// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/agent/fence_agent.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "base/log.h"
#include "base/text.h"
#include "fencing/secret_file.h"

namespace veeamha::fencing::agent {

namespace {

// What is left for `status` after the action: a quarter of the time, at most 30 s.
constexpr auto kMaxStatusReserve = std::chrono::seconds(30);
constexpr size_t kMaxListEntries = 100000;

using base::lower;
using base::trim;

bool valid_key(const std::string& key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
    });
}

// The state an agent printed ("Status: ON"), if it printed one.
PowerState printed_state(const std::string& out) {
    std::istringstream in(out);
    std::string line;
    PowerState printed = PowerState::Unknown;
    while (std::getline(in, line)) {
        std::string l = lower(trim(line));
        if (l.rfind("status:", 0) != 0) continue;
        std::string v = trim(l.substr(7));
        if (v == "on") printed = PowerState::On;
        if (v == "off") printed = PowerState::Off;
    }
    return printed;
}

}  // namespace

std::string find_agent(const std::string& agent) {
    if (agent.empty()) return {};
    if (agent.find('/') != std::string::npos)
        return agent.front() == '/' && ::access(agent.c_str(), X_OK) == 0 ? agent : std::string();
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/sbin:/sbin";
    std::istringstream in(dirs);
    std::string dir;
    while (std::getline(in, dir, ':')) {
        if (dir.empty() || dir.front() != '/') continue;  // never the current directory
        std::string candidate = dir + "/" + agent;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

PowerState parse_agent_status(const base::ProcessResult& status, std::string* why) {
    if (status.ended != base::ProcessResult::Ended::Exited) {
        *why = "status " + describe_agent_run(status);
        return PowerState::Unknown;
    }
    PowerState by_exit = status.exit_code == 0   ? PowerState::On
                         : status.exit_code == 2 ? PowerState::Off
                                                 : PowerState::Unknown;
    if (by_exit == PowerState::Unknown) {
        *why = "status failed: " + describe_agent_run(status) + agent_hint(status);
        return PowerState::Unknown;
    }
    PowerState printed = printed_state(status.out);
    if (printed != PowerState::Unknown && printed != by_exit) {
        *why = std::string("status contradicts itself: exit code ") + std::to_string(status.exit_code) +
               " means " + to_string(by_exit) + " but it printed Status: " + to_string(printed);
        return PowerState::Unknown;
    }
    return by_exit;
}

FenceAgentFencer::FenceAgentFencer(config::FenceLevel level) : level_(std::move(level)) {}

std::string FenceAgentFencer::describe() const {
    for (const auto& [key, value] : level_.args)
        if (key == "ip" || key == "ipaddr") return level_.agent + " " + value;
    return level_.agent;
}

bool FenceAgentFencer::handles(const std::string& node) const {
    return level_.nodes.empty() ||
           std::find(level_.nodes.begin(), level_.nodes.end(), node) != level_.nodes.end();
}

FenceAgentFencer::Run FenceAgentFencer::run(const std::string& action, base::Deadline deadline) const {
    Run r;
    std::string path = find_agent(level_.agent);
    if (path.empty()) {
        r.error = "fence agent " + level_.agent +
                  " not found (looked in PATH, /usr/sbin, /sbin; is fence-agents installed?)";
        return r;
    }
    base::ProcessSpec spec;
    spec.argv = {path};  // nothing else on the command line: everything goes through stdin
    spec.deadline = deadline;
    spec.stdin_data = "action=" + action + "\n";
    // Check every argument before the password is read, so an error never leaves it behind.
    for (const auto& [key, value] : level_.args) {
        if (!valid_key(key)) {
            r.error = level_.agent + ": argument name '" + key + "' is not a fence-agent option name";
            return r;
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
            r.error = level_.agent + ": argument " + key + " contains a line break";
            return r;
        }
        if (key == "action") {
            r.error = level_.agent + ": `action` is chosen by veeam-had, not set in args";
            return r;
        }
        if (key == "password" || key == "passwd") {
            r.error = level_.agent + ": put the password in a 0600 file and give it as password_file";
            return r;
        }
    }
    std::string password_file;
    for (const auto& [key, value] : level_.args) {
        if (key == "password_file")
            password_file = value;
        else
            spec.stdin_data += key + "=" + value + "\n";
    }
    if (!password_file.empty()) {
        auto secret = read_secret_file(password_file);
        if (!secret.ok) {
            r.error = level_.agent + ": " + secret.error;
            return r;
        }
        // Reserved first, so appending never leaves a copy behind in a freed buffer.
        spec.stdin_data.reserve(spec.stdin_data.size() + secret.secret.size() + 16);
        spec.stdin_data += "password=";
        spec.stdin_data += secret.secret;
        spec.stdin_data += '\n';
        wipe(secret.secret);
    }
    base::log::debug("fencing: running " + path + " action=" + action);
    r.process = base::run_process(spec);
    wipe(spec.stdin_data);
    r.started = r.process.ended != base::ProcessResult::Ended::CouldNotStart;
    if (!r.started) r.error = level_.agent + ": " + describe_agent_run(r.process);
    return r;
}

namespace {

// "; fence_ipmilan ignored the unknown option usrname: ..." or "".
std::string ignored_text(const std::string& agent, const std::vector<std::string>& keys) {
    if (keys.empty()) return "";
    std::string list;
    for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
    return "; " + agent + " ignored the unknown option" + (keys.size() == 1 ? " " : "s ") + list +
           " (Parse error): fix the level's args (`veeam-hactl check` names the options it knows)";
}

}  // namespace

FenceResult FenceAgentFencer::power(const std::string& node, bool want_off, base::Deadline deadline) {
    FenceResult r;
    r.fencer = describe();
    if (!handles(node)) {
        r.detail = level_.agent + " is not configured to fence " + node;
        return r;
    }
    const std::string action = want_off ? "off" : "on";
    auto reserve = std::min<base::Clock::duration>(base::remaining(deadline) / 4, kMaxStatusReserve);
    r.failure = FailureClass::Other;
    Run act = run(action, deadline - reserve);
    if (!act.error.empty()) {
        r.detail = act.error;
        return r;
    }
    // Whatever the action said, only the status that follows decides.
    std::string said = act.process.success() ? "succeeded" : describe_agent_run(act.process);
    Run st = run("status", deadline);
    if (!st.error.empty()) {
        r.detail = level_.agent + " " + action + " " + said + "; then " + st.error;
        return r;
    }
    std::string why;
    r.state = parse_agent_status(st.process, &why);
    r.confirmed = r.state == (want_off ? PowerState::Off : PowerState::On);
    // Not confirmed because the login was refused (by either run), or because the device could
    // not be reached: the status run says so, or the action did and the status read nothing.
    if (r.confirmed)
        r.failure = FailureClass::None;
    else if (agent_login_refused(st.process) || agent_login_refused(act.process))
        r.failure = FailureClass::Credentials;
    else if (agent_unreachable(st.process) || (r.state == PowerState::Unknown && agent_unreachable(act.process)))
        r.failure = FailureClass::Transient;
    else
        r.failure = FailureClass::Other;
    std::string hint = r.confirmed || !agent_hint(st.process).empty() ? "" : agent_hint(act.process);
    std::vector<std::string> ignored = ignored_options(act.process);
    for (const auto& k : ignored_options(st.process))
        if (std::find(ignored.begin(), ignored.end(), k) == ignored.end()) ignored.push_back(k);
    if (r.confirmed) {
        r.detail = level_.agent + " " + action + " " + said + " for " + node + "; status then reported " +
                   to_string(r.state);
    } else if (r.state == PowerState::Unknown) {
        r.detail = level_.agent + " " + action + " " + said + " for " + node + ", but " + why +
                   ": fence not confirmed" + hint;
    } else {
        r.detail = level_.agent + " " + action + " " + said + " for " + node + ", but status then reported " +
                   to_string(r.state) + ": fence not confirmed" + hint;
    }
    // The read-back decides a fence (a confirmed power-off is real even if an option was
    // ignored); the ignored option is said all the same.
    r.detail += ignored_text(level_.agent, ignored);
    return r;
}

FenceResult FenceAgentFencer::off(const std::string& node, base::Deadline deadline) {
    return power(node, true, deadline);
}

FenceResult FenceAgentFencer::on(const std::string& node, base::Deadline deadline) {
    return power(node, false, deadline);
}

FenceResult FenceAgentFencer::status(const std::string& node, base::Deadline deadline) {
    FenceResult r;
    r.fencer = describe();
    r.failure = FailureClass::Other;
    if (!handles(node)) {
        r.detail = level_.agent + " is not configured to fence " + node;
        return r;
    }
    Run st = run("status", deadline);
    if (!st.error.empty()) {
        r.detail = st.error;
        return r;
    }
    std::string why;
    r.state = parse_agent_status(st.process, &why);
    std::vector<std::string> ignored = ignored_options(st.process);
    // A status read with an option ignored is a configuration error the fencing check must
    // report (a misspelt `username` may mean the agent used none): not a good read.
    r.confirmed = r.state != PowerState::Unknown && ignored.empty();
    r.failure = r.confirmed ? FailureClass::None : agent_failure_class(st.process);
    if (r.confirmed)
        r.detail = level_.agent + " reports " + node + " " + to_string(r.state);
    else if (r.state != PowerState::Unknown)
        r.detail = level_.agent + " reports " + node + " " + to_string(r.state) + " but" + ignored_text(level_.agent, ignored).substr(1);
    else
        r.detail = level_.agent + " " + why + ignored_text(level_.agent, ignored);
    return r;
}

ListResult FenceAgentFencer::list(base::Deadline deadline) {
    ListResult r;
    Run l = run("list", deadline);
    if (!l.error.empty()) {
        r.error = l.error;
        return r;
    }
    if (!l.process.success()) {
        r.error = level_.agent + " list " + describe_agent_run(l.process) + agent_hint(l.process);
        return r;
    }
    // fence_ipmilan and other single-host agents answer `list` with a notice and exit 0: this
    // level fences the one host its address names, it has no list.
    if (agent_says(l.process, {"list option is not working on this device"})) {
        r.error = "cannot list: " + level_.agent + " controls a single host (it says \"List option is not working "
                  "on this device yet\"); `veeam-hactl fence status NODE` reads that host's power";
        return r;
    }
    std::istringstream in(l.process.out);
    std::string line;
    while (std::getline(in, line) && r.vms.size() < kMaxListEntries) {
        line = trim(line);
        if (line.empty()) continue;
        size_t comma = line.find(',');
        VmInfo vm;
        vm.name = comma == std::string::npos ? line : line.substr(0, comma);
        std::string alias = comma == std::string::npos ? "" : trim(line.substr(comma + 1));
        if (!alias.empty()) vm.name += " (" + alias + ")";
        r.vms.push_back(std::move(vm));
    }
    r.ok = true;
    return r;
}

}  // namespace veeamha::fencing::agent

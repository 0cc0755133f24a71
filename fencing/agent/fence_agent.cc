// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/agent/fence_agent.h"

#include <unistd.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "base/log.h"
#include "fencing/secret_file.h"

namespace veeamha::fencing::agent {

namespace {

// What is left for `status` after the action: a quarter of the time, at most 30 s.
constexpr auto kMaxStatusReserve = std::chrono::seconds(30);
constexpr size_t kMaxListEntries = 100000;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

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
    if (says(l.process, {"list option is not working on this device"})) {
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

namespace veeamha::fencing::agent {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

}  // namespace

AgentParameters agent_parameters(const std::string& agent, base::Deadline deadline) {
    AgentParameters r;
    std::string path = find_agent(agent);
    if (path.empty()) {
        r.error = "fence agent " + agent + " not found (looked in PATH, /usr/sbin, /sbin; is fence-agents installed?)";
        return r;
    }
    base::ProcessSpec spec;
    // No secret here: the command line (written to no stdin, which a program that is no agent
    // may never read).
    spec.argv = {path, "-o", "metadata"};
    spec.deadline = deadline;
    base::ProcessResult run = base::run_process(spec);
    if (!run.success()) {
        r.error = agent + " metadata " + describe_agent_run(run);
        return r;
    }
    namespace pt = boost::property_tree;
    try {
        pt::ptree tree;
        std::istringstream in(run.out);
        pt::read_xml(in, tree);
        for (const auto& [tag, parameter] : tree.get_child("resource-agent.parameters"))
            if (tag == "parameter") r.names.push_back(parameter.get<std::string>("<xmlattr>.name"));
    } catch (const std::exception& e) {
        r.error = agent + " metadata is not the fence-agents XML (" + e.what() + ")";
        return r;
    }
    if (r.names.empty()) {
        r.error = agent + " metadata lists no parameters";
        return r;
    }
    r.ok = true;
    return r;
}

std::vector<std::string> check_level_args(const config::FenceLevel& level, const std::vector<std::string>& names) {
    std::vector<std::string> problems;
    const std::string agent = level.agent.substr(level.agent.rfind('/') + 1);
    for (const auto& [key, value] : level.args) {
        if (key == "password_file") continue;  // veeam-had's: read, then given as `password`
        if (std::find(names.begin(), names.end(), key) != names.end()) continue;
        std::string best;
        size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
        for (const auto& n : names) {
            size_t d = edit_distance(key, n);
            if (d < best_distance) {
                best = n;
                best_distance = d;
            }
        }
        problems.push_back(key + ": not an option of " + agent + " (its metadata)" +
                           (best.empty() ? "" : "; did you mean " + best + "?"));
    }
    return problems;
}

}  // namespace veeamha::fencing::agent

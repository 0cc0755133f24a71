// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/cli/cli.h"
#include "fencing/agent/fence_agent.h"
#include "storage/lvm/lvm_check.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>

namespace veeamha::cli {

namespace {

std::string count(size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Loads `path` and prints every error and warning to `err`.
config::LoadResult load_and_report(const std::string& path, bool check_files, std::ostream& err) {
    config::LoadOptions options;
    options.check_files = check_files;
    config::LoadResult result = config::load_file(path, options);
    for (const auto& e : result.errors) err << e.to_string() << "\n";
    for (const auto& w : result.warnings) err << "warning: " << w.to_string() << "\n";
    return result;
}

}  // namespace

std::optional<config::Config> load_config(const std::string& path, bool check_files,
                                          std::ostream& err) {
    config::LoadResult result = load_and_report(path, check_files, err);
    if (!result.config) {
        err << count(result.errors.size(), "error", "errors") << " in " << path << "\n";
        return std::nullopt;
    }
    return std::move(result.config);
}

int check_config(const std::string& path, const std::string& node_override, bool check_files,
                 bool quiet, std::ostream& out, std::ostream& err) {
    if (quiet) {
        std::ostringstream summary, problems;
        int rc = check_config(path, node_override, check_files, false, summary, problems);
        if (rc != kExitOk) err << problems.str() << std::flush;
        return rc;
    }
    config::LoadResult result = load_and_report(path, check_files, err);
    if (!result.config) {
        err << count(result.errors.size(), "error", "errors") << ", "
            << count(result.warnings.size(), "warning", "warnings") << " in " << path << "\n";
        return kExitFailure;
    }
    const config::Config& config = *result.config;
    int local = -1;
    auto who = config::resolve_local_node(config, node_override);
    if (std::holds_alternative<int>(who)) {
        local = std::get<int>(who);
    } else if (!node_override.empty()) {
        err << path << ": " << std::get<std::string>(who) << "\n";
        return kExitFailure;
    } else {
        err << "warning: " << std::get<std::string>(who)
            << " (fine when checking a file for other machines)\n";
    }
    // This host's LVM setup (rule: shared VGs must not auto-activate; a system ID is needed).
    // Only with file checks: a file checked for other machines says nothing about this one.
    if (check_files && local >= 0) {
        std::vector<config::LvmSpec> vgs;
        for (const auto& r : config.resources)
            if (r.kind == config::ResourceKind::Lvm) vgs.push_back(std::get<config::LvmSpec>(r.spec));
        if (!vgs.empty())
            for (const auto& w : storage::lvm::lvm_config_warnings(vgs, config.nodes[size_t(local)].name))
                err << "warning: lvm: " << w << "\n";
    }
    // Each fence agent's args against the options it says it knows (its metadata): a misspelt
    // option is otherwise ignored by the agent at the first fence ("Parse error: Ignoring
    // unknown option"). A missing agent is the loader's file check; an agent without
    // fence-agents metadata (a script of the admin's) cannot be checked: a warning.
    size_t warnings = result.warnings.size();
    if (check_files) {
        size_t errors = 0;
        for (size_t i = 0; i < config.fencing.levels.size(); ++i) {
            const config::FenceLevel& level = config.fencing.levels[i];
            const std::string key = "fencing.levels[" + std::to_string(i) + "]";
            if (fencing::agent::find_agent(level.agent).empty()) continue;  // reported by the loader
            auto parameters = fencing::agent::agent_parameters(level.agent, base::Clock::now() + std::chrono::seconds(10));
            if (!parameters.ok) {
                err << "warning: " << path << ": " << key << ".args: not checked: " << parameters.error << "\n";
                ++warnings;
                continue;
            }
            for (const auto& p : fencing::agent::check_level_args(level, parameters.names)) {
                err << path << ": " << key << ".args." << p << "\n";
                ++errors;
            }
        }
        if (errors) {
            err << count(errors, "error", "errors") << ", " << count(warnings, "warning", "warnings") << " in " << path
                << "\n";
            return kExitFailure;
        }
    }
    out << path << " is valid"
        << (warnings == 0 ? std::string(".") : " (" + count(warnings, "warning", "warnings") + ", shown on stderr).")
        << (check_files ? "" : " Files it names were not checked.") << "\n\n"
        << config::summarize(config, local);
    return kExitOk;
}

bool take_option(std::vector<std::string>& args, const std::string& name, const std::string& short_name,
                 std::optional<std::string>& value, std::string& error) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") break;
        if (a == name || (!short_name.empty() && a == short_name)) {
            if (i + 1 >= args.size()) {
                error = a + " needs a value";
                return false;
            }
            value = args[i + 1];
            args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
            --i;
            continue;
        }
        if (a.rfind(name + "=", 0) == 0) {
            value = a.substr(name.size() + 1);
            args.erase(args.begin() + static_cast<long>(i));
            --i;
        }
    }
    return true;
}

bool take_flag(std::vector<std::string>& args, const std::string& name) {
    auto it = std::find(args.begin(), args.end(), name);
    if (it == args.end()) return false;
    args.erase(it);
    return true;
}

double ms_since_process_start() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return -1;
    // Field 22 (starttime, clock ticks since boot); fields 3.. follow the ")" of the name.
    std::istringstream rest(line.substr(std::min(line.size(), line.rfind(')') + 1)));
    std::string field;
    for (int i = 3; i <= 22; ++i)
        if (!(rest >> field)) return -1;
    timespec now{};
    const long hz = ::sysconf(_SC_CLK_TCK);
    if (hz <= 0 || ::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return -1;
    const double started = static_cast<double>(std::strtoull(field.c_str(), nullptr, 10)) * 1000.0 / static_cast<double>(hz);
    return static_cast<double>(now.tv_sec) * 1000.0 + static_cast<double>(now.tv_nsec) / 1e6 - started;
}

}  // namespace veeamha::cli

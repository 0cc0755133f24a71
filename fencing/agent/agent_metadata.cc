// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/agent/agent_metadata.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <algorithm>
#include <sstream>

#include "fencing/agent/agent_output.h"
#include "fencing/agent/fence_agent.h"

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

// SPDX-License-Identifier: GPL-2.0-or-later
// What ships in monitoring/ and the README agree with what the daemon serves: the Grafana
// dashboard is well-formed JSON, repeats a row per cluster and filters every query by it; every
// metric name it, the rules file or the README's series table use is one /metrics renders.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/runtime/metrics.h"
#include "tests/common/read_file.h"

using namespace veeamha;
namespace pt = boost::property_tree;

namespace {

std::string source(const std::string& relative) { return std::string(VEEAMHA_SOURCE_DIR) + "/" + relative; }

using veeamha::test::slurp;

// Every family /metrics has, with its type (each is always described, samples or not).
std::map<std::string, std::string> rendered_families() {
    runtime::MetricsSnapshot s;
    s.cluster = "c";
    s.node = "n";
    std::string text = runtime::render_metrics(s);
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("# TYPE ", 0) == 0) {
            size_t space = line.find(' ', 7);
            out[line.substr(7, space - 7)] = line.substr(space + 1);
        }
    return out;
}

std::set<std::string> metric_names(const std::string& text) {
    static const std::regex name(R"(\b(veeamha_[a-z_]+|process_[a-z_]+)\b)");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it)
        out.insert((*it)[1].str());
    return out;
}

// Every value under a key named `key`, anywhere in the tree.
void collect(const pt::ptree& tree, const std::string& key, std::vector<std::string>& out) {
    for (const auto& [k, child] : tree) {
        if (k == key && child.empty()) out.push_back(child.data());
        collect(child, key, out);
    }
}

const std::string kDashboard = "monitoring/veeam-had-dashboard.json";

}  // namespace

TEST_CASE("dashboard: well-formed JSON, a row repeated per cluster, every query filtered by $cluster") {
    pt::ptree dash;
    try {
        pt::read_json(source(kDashboard), dash);
    } catch (const pt::json_parser_error& e) {
        FAIL(kDashboard << ":" << e.line() << ": " << e.message());
    }
    // The cluster variable, from the series every node exports, several at once.
    bool found = false;
    for (const auto& [_, var] : dash.get_child("templating.list")) {
        if (var.get<std::string>("name") != "cluster") continue;
        found = true;
        CHECK(var.get<std::string>("query.query") == "label_values(veeamha_build_info, cluster)");
        CHECK(var.get<std::string>("multi") == "true");
        CHECK(var.get<std::string>("includeAll") == "true");
    }
    CHECK(found);
    const auto& panels = dash.get_child("panels");
    REQUIRE(!panels.empty());
    const auto& row = panels.begin()->second;
    CHECK(row.get<std::string>("type") == "row");
    CHECK(row.get<std::string>("repeat") == "cluster");
    size_t targets = 0;
    for (const auto& [_, panel] : panels) {
        if (panel.get<std::string>("type") == "row") continue;
        INFO("panel " << panel.get<std::string>("title"));
        REQUIRE(panel.count("targets") == 1);
        for (const auto& [__, t] : panel.get_child("targets")) {
            ++targets;
            std::string expr = t.get<std::string>("expr");
            INFO(expr);
            // One row per cluster: a query that is not filtered would show every cluster in each.
            CHECK(expr.find("cluster=~\"$cluster\"") != std::string::npos);
            CHECK(!metric_names(expr).empty());
        }
    }
    CHECK(targets >= 20);
}

TEST_CASE("dashboard and rules use only metric names /metrics renders") {
    const auto families = rendered_families();
    REQUIRE(families.count("veeamha_fencing_check_ok") == 1);

    pt::ptree dash;
    pt::read_json(source(kDashboard), dash);
    std::vector<std::string> exprs;
    collect(dash, "expr", exprs);
    collect(dash, "definition", exprs);
    std::set<std::string> used;
    for (const auto& e : exprs)
        for (const auto& n : metric_names(e)) used.insert(n);
    CHECK(used.size() >= 20);
    for (const auto& n : used) {
        INFO(kDashboard << " uses " << n << ", which /metrics does not have");
        CHECK(families.count(n) == 1);
    }

    YAML::Node rules = YAML::LoadFile(source("monitoring/veeam-had.rules.yml"));
    size_t alerts = 0;
    std::set<std::string> rule_names;
    for (const auto& group : rules["groups"])
        for (const auto& rule : group["rules"]) {
            ++alerts;
            for (const auto& n : metric_names(rule["expr"].as<std::string>())) rule_names.insert(n);
        }
    CHECK(alerts >= 10);
    for (const auto& n : rule_names) {
        INFO("monitoring/veeam-had.rules.yml uses " << n << ", which /metrics does not have");
        CHECK(families.count(n) == 1);
    }
}

TEST_CASE("README: the series table lists exactly the families /metrics renders") {
    const auto families = rendered_families();
    // Rows of the table: "| `name` | type | ...".
    std::istringstream in(slurp(source("README.md")));
    std::string line;
    static const std::regex row(R"(^\| `((veeamha|process)_[a-z_]+)` \| (gauge|counter) \|)");
    std::map<std::string, std::string> listed;
    std::smatch m;
    while (std::getline(in, line))
        if (std::regex_search(line, m, row)) listed[m[1].str()] = m[3].str();
    for (const auto& [name, type] : families) {
        INFO("README.md's series table lacks " << name << " (" << type << ")");
        CHECK(listed[name] == type);
    }
    for (const auto& [name, type] : listed) {
        INFO("README.md's series table lists " << name << ", which /metrics does not have");
        CHECK(families.count(name) == 1);
    }
}

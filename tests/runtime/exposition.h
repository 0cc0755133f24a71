// SPDX-License-Identifier: GPL-2.0-or-later
// Checks of a /metrics text for the tests: the real promtool's lint, and the one rule promtool
// 2.42 does not check (a family interleaved with another passes its parser): every family is
// one group, HELP then TYPE then its samples, and never comes back.
#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/process.h"

namespace veeamha::test {

// `promtool check metrics` on `text`: "" if it passes, else its exit and what it printed.
inline std::string promtool_check_metrics(const std::string& text) {
    base::ProcessSpec spec;
    spec.argv = {"promtool", "check", "metrics"};
    spec.stdin_data = text;
    spec.deadline = base::Clock::now() + std::chrono::seconds(60);
    base::ProcessResult r = base::run_process(spec);
    if (r.success()) return {};
    return "promtool check metrics: " + r.describe() + "\n" + r.out + r.err;
}

// The metric name of a sample line ("name{...} v" or "name v").
inline std::string sample_name(const std::string& line) {
    return line.substr(0, line.find_first_of("{ "));
}

// "" if every family is one contiguous group with HELP and TYPE before its samples; else the
// first line that breaks it, with its number.
inline std::string check_grouping(const std::string& text) {
    std::istringstream in(text);
    std::string line, current;
    std::set<std::string> finished;
    std::map<std::string, int> described;  // name -> 1 after HELP, 2 after TYPE
    int n = 0;
    auto fail = [&](const std::string& why) { return "line " + std::to_string(n) + ": " + why + ": " + line; };
    while (std::getline(in, line)) {
        ++n;
        std::string name;
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            name = line.substr(7, line.find(' ', 7) - 7);
            bool help = line[2] == 'H';
            if (name != current) {
                if (!current.empty()) finished.insert(current);
                if (finished.count(name)) return fail("family " + name + " comes back after another one");
                current = name;
            }
            if (help && described[name] != 0) return fail("second HELP, or HELP after TYPE");
            if (!help && described[name] != 1) return fail("TYPE without a HELP before it, or a second TYPE");
            described[name] = help ? 1 : 2;
            continue;
        }
        if (line.empty() || line[0] == '#') return fail("unexpected line");
        name = sample_name(line);
        if (name != current) return fail("sample of " + name + " outside its family's group (" + current + ")");
        if (described[name] != 2) return fail("sample before its family's HELP and TYPE");
    }
    return {};
}

// The family names of a text, in order (from its TYPE lines).
inline std::vector<std::string> family_names(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> out;
    while (std::getline(in, line))
        if (line.rfind("# TYPE ", 0) == 0) out.push_back(line.substr(7, line.find(' ', 7) - 7));
    return out;
}

}  // namespace veeamha::test

// SPDX-License-Identifier: GPL-2.0-or-later
// A whole file as a string, for tests: "" when it cannot be read (a test then compares it with
// what it expects and says so).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace veeamha::test {

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace veeamha::test

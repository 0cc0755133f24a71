// SPDX-License-Identifier: GPL-2.0-or-later
// Small text helpers the shells share.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace veeamha::base {

inline std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Without leading and trailing blanks (spaces, tabs, line ends).
inline std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace veeamha::base

// SPDX-License-Identifier: GPL-2.0-or-later
#include "migrate/pacemaker_values.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace veeamha::migrate {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<config::Duration> parse_pcmk_duration(std::string_view text) {
    text = trim(text);
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    int64_t number = std::stoll(std::string(text.substr(0, digits)));
    const std::string unit = lower(trim(text.substr(digits)));
    // Milliseconds per unit; microseconds are rounded up to whole milliseconds.
    if (unit == "us" || unit == "usec") return config::Duration((number + 999) / 1000);
    int64_t per = 0;
    if (unit == "ms" || unit == "msec") per = 1;
    else if (unit.empty() || unit == "s" || unit == "sec") per = 1000;
    else if (unit == "m" || unit == "min") per = 60 * 1000;
    else if (unit == "h" || unit == "hr") per = 3600 * 1000;
    else return std::nullopt;
    return config::Duration(number * per);
}

std::optional<int64_t> parse_score(std::string_view text) {
    std::string t = lower(trim(text));
    if (t == "infinity" || t == "+infinity") return kScoreInfinity;
    if (t == "-infinity") return -kScoreInfinity;
    size_t start = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
    if (t.size() == start || t.size() - start > 12) return std::nullopt;
    if (!std::all_of(t.begin() + static_cast<long>(start), t.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    int64_t v = std::stoll(t);
    return std::clamp(v, -kScoreInfinity, kScoreInfinity);
}

std::optional<bool> parse_pcmk_bool(std::string_view text) {
    std::string t = lower(trim(text));
    if (t == "true" || t == "on" || t == "yes" || t == "y" || t == "1") return true;
    if (t == "false" || t == "off" || t == "no" || t == "n" || t == "0") return false;
    return std::nullopt;
}

HostMap parse_host_map(std::string_view text) {
    HostMap map;
    // Entries are separated by ';' and white space only: a ',' belongs to a value ("node2:2,3"
    // gives node2 two ports).
    std::string current;
    auto finish = [&] {
        if (current.empty()) return;
        size_t sep = current.find_first_of(":=");
        if (sep == std::string::npos || sep == 0 || sep + 1 == current.size())
            map.malformed.push_back(current);
        else
            map.entries.emplace_back(current.substr(0, sep), current.substr(sep + 1));
        current.clear();
    };
    for (char c : text) {
        if (c == ';' || c == ' ' || c == '\t' || c == '\n')
            finish();
        else
            current += c;
    }
    finish();
    return map;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    for (char c : text) {
        if (c == ';' || c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            if (!current.empty()) out.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty()) out.push_back(current);
    return out;
}

}  // namespace veeamha::migrate
